"""The host framebuf (host_tools/sim/framebuf_host.py) draws what MicroPython's does:
every frame of tests/core/screen_cases.py, the primitives at the buffer's edges and
every layout of firmware/screen.py, drawn by the real interpreter (WebAssembly port,
its C framebuf) and on CPython, compared byte for byte."""
import binascii
import subprocess

import pytest

from host_tools import paths
from host_tools.sim import framebuf_host
from tests.core import screen_cases

ROOT = str(paths.ROOT)


@pytest.fixture(scope="module")
def micropython_frames():
    done = subprocess.run(["node", "tests/mpy/run.mjs", "--exec", "tests/mpy/dump_screens.py"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frames = {}
    for line in done.stdout.splitlines():
        name, data = line.split()
        frames[name] = binascii.unhexlify(data)
    return frames


def test_every_frame_is_the_same_bytes_on_both_interpreters(micropython_frames):
    host = dict(screen_cases.frames(framebuf_host))
    assert sorted(host) == sorted(micropython_frames)
    differ = [name for name in host if host[name] != micropython_frames[name]]
    assert differ == []


def test_the_cases_draw_something_different_each(micropython_frames):
    frames = list(micropython_frames.values())
    assert all(any(f) for f in frames)
    assert len(set(frames)) == len(frames)


def test_the_comparison_sees_a_one_pixel_difference(micropython_frames):
    buf = bytearray(micropython_frames["screen_idle"])
    fb = framebuf_host.FrameBuffer(buf, 128, 64, framebuf_host.MONO_VLSB)
    fb.pixel(127, 63, 1 - fb.pixel(127, 63))
    assert bytes(buf) != micropython_frames["screen_idle"]


def test_the_font_is_micropythons():
    """The first and last glyphs as extmod/font_petme128_8x8.h has them."""
    assert len(framebuf_host.FONT) == 96 * 8
    assert framebuf_host.FONT[(ord("!") - 32) * 8:(ord("!") - 32) * 8 + 8] == bytes(
        (0x00, 0x00, 0x00, 0x4F, 0x4F, 0x00, 0x00, 0x00))
    assert framebuf_host.FONT[-8:] == bytes((0xAA, 0x55) * 4)


def test_what_the_host_framebuf_does_not_draw_is_refused():
    buf = bytearray(1024)
    with pytest.raises(ValueError):
        framebuf_host.FrameBuffer(buf, 128, 65, framebuf_host.MONO_VLSB)  # buffer too small
    with pytest.raises(ValueError, match="invalid format"):
        framebuf_host.FrameBuffer(buf, 128, 64, 9)
    with pytest.raises(NotImplementedError):
        framebuf_host.FrameBuffer(buf, 16, 16, framebuf_host.RGB565)
    with pytest.raises(TypeError):
        framebuf_host.FrameBuffer(bytes(1024), 128, 64, framebuf_host.MONO_VLSB)
    fb = framebuf_host.FrameBuffer(buf, 128, 64, framebuf_host.MONO_VLSB)
    assert not hasattr(fb, "line") and not hasattr(fb, "scroll")  # absent, not guessed
