"""Frames drawn the same way under both interpreters: framebuf's primitives at and
beyond the buffer's edges, and firmware/screen.py's layouts. tests/mpy/dump_screens.py
prints them from the real MicroPython interpreter; tests/host/test_screen_fidelity.py
draws them again on CPython (host_tools/sim/framebuf_host.py) and compares the bytes."""
from firmware import alarms, screen, states


def _text_edges(fb):
    fb.text("edge", -3, -3, 1)
    fb.text("clip", 120, 60, 1)
    fb.text("x", 127, 0, 1)


def _text_odd(fb):
    fb.text("\x01\x1f~\x7f", 0, 0, 1)  # below 32 and 127 draw as 127
    fb.text("caf\u00e9 -5\u00b0C", 0, 9, 1)  # each UTF-8 byte above 127, one glyph each
    fb.text("ab\x00cd", 0, 18, 1)  # the C string ends at the NUL
    fb.text("", 5, 27, 1)


def _text_inverted(fb):
    fb.fill_rect(0, 0, 128, 20, 1)
    fb.text("ON DARK", 3, 5, 0)
    fb.text("half", 10, 16, 0)  # straddles the filled edge


def _rects(fb):
    fb.fill_rect(-5, -5, 20, 20, 1)
    fb.fill_rect(120, 60, 20, 20, 1)
    fb.fill_rect(30, 3, 50, 13, 1)
    fb.fill_rect(40, 6, 10, 4, 0)
    fb.fill_rect(60, 20, 0, 10, 1)  # empty: nothing
    fb.fill_rect(60, 20, 10, -3, 1)
    fb.rect(2, 30, 40, 20, 1)
    fb.rect(50, 30, 1, 1, 1)
    fb.rect(60, 30, 20, 9, 1, True)
    fb.rect(100, 50, 60, 30, 1)  # off the edges


def _lines(fb):
    fb.hline(-10, 0, 200, 1)
    fb.hline(5, 63, 10, 1)
    fb.hline(5, 64, 10, 1)  # below the buffer: nothing
    fb.vline(0, -4, 80, 1)
    fb.vline(127, 10, 3, 1)
    fb.vline(64, 7, 2, 1)  # across a page boundary
    fb.hline(3, 40, 0, 1)


def _pixels(fb):
    fb.fill(1)
    for i in range(0, 64, 3):
        fb.pixel(i * 2, i, 0)
    fb.pixel(-1, 5, 0)
    fb.pixel(128, 5, 0)
    fb.pixel(5, 64, 0)
    fb.pixel(9, 9, 7)  # any colour but 0 sets the bit


def _fills(fb):
    fb.fill(1)
    fb.fill(0)
    fb.fill(3)
    fb.fill_rect(10, 10, 20, 20, 0)


def _blits(fb, framebuf):
    src_buf = bytearray(32)
    src = framebuf.FrameBuffer(src_buf, 16, 16, framebuf.MONO_VLSB)
    src.text("Z", 0, 0, 1)
    src.rect(0, 0, 16, 16, 1)
    fb.fill_rect(0, 0, 128, 16, 1)
    fb.blit(src, 5, 3)  # every pixel, 0 included
    fb.blit(src, 30, 5, 0)  # set pixels only
    fb.blit(src, 50, 5, 1)  # clear pixels only
    fb.blit(src, -6, 30, 0)
    fb.blit(src, 120, 55, 0)
    fb.blit(src, 60, -9, 0)
    fb.blit(src, 70, 21, 0)
    fb.blit(src, 200, 20, 0)  # beyond: nothing


def primitives(framebuf):
    """[(name, function(fb))]."""
    return [("text_edges", _text_edges), ("text_odd", _text_odd),
            ("text_inverted", _text_inverted), ("rects", _rects), ("lines", _lines),
            ("pixels", _pixels), ("fills", _fills),
            ("blits", lambda fb: _blits(fb, framebuf))]


def _longest_alarm(priority_below_fault):
    rows = [r for r in alarms.TABLE if (r[3] == alarms.LOW) == priority_below_fault]
    return max(rows, key=lambda r: len(r[5]))[0]


def views():
    """[(name, draw()'s arguments)]: every state, the edges of every field."""
    low = _longest_alarm(True)
    high = _longest_alarm(False)
    return [
        ("boot", (states.BOOT, "moderate", None, 0, 0, 4, 1, None, 0, 0)),
        ("idle", (states.IDLE, "moderate", 3215, 0, 0, 4, 1, 8000, 0, 0)),
        ("treating", (states.TREATING, "moderate", -5023, 12345, 1, 4, 2, 7456, 0, 0)),
        ("treating_cold", (states.TREATING, "very_long", -10000, 40000, 2, 2, 12, 99, 0, 0)),
        ("lockout", (states.LOCKOUT, "ftf", -1999, 29001, 1, 2, 3, 15, 0, 0)),
        ("proving", (states.LOCKOUT, "ftf", -5, 0, 1, 2, 3, 0, 0, 0)),
        ("done", (states.DONE, "darker_skin", 410, 0, 2, 2, 1, 6000, 0, 0)),
        ("idle_alarm", (states.IDLE, "aftercare", 2000, 0, 3, 20, 4, None, low, 0)),
        ("idle_alarm_p1", (states.IDLE, "aftercare", 2000, 0, 3, 20, 4, None, low, 1)),
        ("treating_alarm", (states.TREATING, "short", -4000, 999, 1, 4, 1, 5000, 14, 0)),
        ("fault", (states.FAULT, "moderate", -1234, 0, 1, 4, 1, 5000, 1, 0)),
        ("fault_long", (states.FAULT, "moderate", 6000, 0, 1, 4, 1, None, high, 0)),
        ("fault_long_p1", (states.FAULT, "moderate", 6000, 0, 1, 4, 1, None, high, 1)),
        ("fault_no_reading", (states.FAULT, "moderate", None, 0, 0, 4, 1, None, 7, 0)),
        ("name_utf8", (states.IDLE, "gefr\u00f6ren", 0, 0, 0, 3, 1, 0, 0, 0)),
    ]


def frames(framebuf):
    """[(name, the frame's bytes)] for every case."""
    out = []
    for name, fn in primitives(framebuf):
        buf, fb = screen.new_frame()
        fn(fb)
        out.append((name, bytes(buf)))
    for name, args in views():
        buf, fb = screen.new_frame()
        screen.draw(fb, *args)
        out.append(("screen_" + name, bytes(buf)))
    return out
