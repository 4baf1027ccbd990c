"""The start-up integrity check (hal/integrity.py) under the real MicroPython: its
SHA-256 of files read in chunks equals CPython's, damage is named, and the
frozen-module probe finds what the interpreter has frozen in (this build freezes
asyncio) and leaves sys.path and sys.modules as they were."""
import json
import os
import sys

from boards.sim import board
from hal import integrity

# Three files and their SHA-256 as CPython's hashlib computes them.
FILES = (
    ("main.py", b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("firmware/a.mpy", b"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("firmware/b.mpy", bytes(range(256)) * 5,  # 1280 bytes: two whole chunks and a part
     "d414b085826eb06778483ba35564dc849e643359f69ed9747878ba6e54985bed"),
)
_count = [0]


def _pen():
    """A fresh directory holding an intact deploy; its path with a trailing slash."""
    _count[0] += 1
    root = "/integrity_test_%d/" % _count[0]
    os.mkdir(root[:-1])
    os.mkdir(root + "firmware")
    for path, data, _ in FILES:
        with open(root + path, "wb") as f:
            f.write(data)
    with open(root + integrity.MANIFEST, "w") as f:
        json.dump({"board": "sim", "files": {path: digest for path, _, digest in FILES}}, f)
    return root


def _check(root):
    return integrity.check(board, os, open, sys, root)


def test_an_intact_deploy_passes_with_the_same_hashes_as_cpython():
    assert _check(_pen()) is None


def test_a_flipped_byte_is_named():
    root = _pen()
    with open(root + "firmware/b.mpy", "r+b") as f:
        f.seek(1100)
        f.write(b"\x00")
    assert _check(root) == "firmware/b.mpy differs from the manifest"


def test_a_missing_file_and_an_unfinished_deploy():
    root = _pen()
    os.remove(root + "firmware/a.mpy")
    assert _check(root) == "firmware/a.mpy is missing"
    with open(root + integrity.DEPLOYING, "w") as f:
        f.write("")
    assert _check(root) == "a deploy did not finish (/cryopen_deploying is present)"


def test_an_old_micropython_is_refused():
    class Implementation:
        name = "micropython"
        version = (1, 27, 0, "")

    class OldSys:
        implementation = Implementation()
        path = sys.path
        modules = sys.modules

    assert integrity.check(board, os, open, OldSys(), _pen()) == (
        "MicroPython 1.27.0 is older than the 1.29.0 this board needs")


def test_the_frozen_probe_finds_frozen_packages_and_restores_sys():
    assert ".frozen" in sys.path
    path = list(sys.path)
    firmware = sys.modules["firmware"]
    had_asyncio = "asyncio" in sys.modules
    assert integrity.frozen_package(sys, "asyncio")  # frozen into this MicroPython build
    assert not integrity.frozen_package(sys, "firmware")  # here a file, not frozen
    assert sys.path == path
    assert sys.modules["firmware"] is firmware
    assert ("asyncio" in sys.modules) == had_asyncio


def test_the_alarm_stops_at_ctrl_c_silent():
    class Hal:
        def __init__(self):
            self.t = 0
            self.tones = []

        def close_valves(self):
            pass

        def tone(self, hz):
            self.tones.append(hz)

        def led(self, on):
            pass

        def sleep_ms(self, ms):
            self.t += ms
            if self.t > 1000:
                raise KeyboardInterrupt

    hal = Hal()
    integrity.refuse(hal, "test")
    assert hal.tones[0] == integrity.ALARM_HZ
    assert hal.tones[-1] == 0
