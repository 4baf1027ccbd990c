"""Prints every frame of tests/core/screen_cases.py as drawn by the real MicroPython
interpreter's framebuf, one line each: name, then the bytes in hex. Run by
tests/host/test_screen_fidelity.py through `node tests/mpy/run.mjs --exec`."""
import binascii

import framebuf

from tests.core import screen_cases

for name, data in screen_cases.frames(framebuf):
    print(name, binascii.hexlify(data).decode())
