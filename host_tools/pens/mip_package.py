"""Writes boards/<name>/package.json, the mip package of a board, from the same
file list `cryopen deploy` uses, so a stock MicroPython installs the firmware with

    mpremote mip install --target / boards/<name>/package.json

    python -m host_tools.pens.mip_package     rewrite every board's package.json
"""
import json
import os

from host_tools.pens.device_files import ROOT, SIM, boards, device_files

VERSION = "0.1.0"


def package(board_name):
    board_dir = os.path.join(str(ROOT), "boards", board_name)
    urls = [[dst, os.path.relpath(src, board_dir).replace(os.sep, "/")]
            for src, dst in device_files(board_name)]
    return {"urls": urls, "version": VERSION}


def path(board_name):
    return os.path.join(str(ROOT), "boards", board_name, "package.json")


def text(board_name):
    return json.dumps(package(board_name), indent=2) + "\n"


def write():
    for name in boards():
        if name != SIM:
            with open(path(name), "w") as f:
                f.write(text(name))


if __name__ == "__main__":
    write()
