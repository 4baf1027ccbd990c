"""Writes boards/<name>/package.json, the mip package of a board, from the same
file list `cryopen deploy` uses, so a stock MicroPython installs the firmware with

    mpremote mip install --target / boards/<name>/package.json

    python -m host_tools.pens.mip_package     rewrite every board's package.json
"""
import importlib
import json
import os

from host_tools.pens.device_files import ROOT, SIM, boards, device_files

VERSION = "0.1.0"
# A board that declares a display (DISPLAY) needs micropython-lib's driver: mip installs
# it from its index beside the firmware, at the version host_tools/sim/vendor/ holds.
DISPLAY_DEPS = [["ssd1306", "0.1.0"]]


def package(board_name):
    board_dir = os.path.join(str(ROOT), "boards", board_name)
    urls = [[dst, os.path.relpath(src, board_dir).replace(os.sep, "/")]
            for src, dst in device_files(board_name)]
    doc = {"urls": urls, "version": VERSION}
    board = importlib.import_module("boards.%s.board" % board_name)
    if getattr(board, "DISPLAY", None) is not None:
        doc["deps"] = DISPLAY_DEPS
    return doc


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
