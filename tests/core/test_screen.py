"""The display's layout (firmware/screen.py): what each state shows, fields at their
edges, alarm texts that fit or page, and the view taken from a running pen. Runs
under CPython (framebuf from host_tools/sim/framebuf_host.py, installed by
tests/conftest.py) and under MicroPython (its own framebuf)."""
import framebuf

from firmware import alarms, screen, states
from tests.core import pen_rig

_ALL = (states.BOOT, states.IDLE, states.TREATING, states.LOCKOUT, states.FAULT, states.DONE)


def frame(state, tip_cc=-5000, left_ms=5000, alarm=0, page=0, gas_mg=6200, profile="moderate"):
    buf, fb = screen.new_frame()
    screen.draw(fb, state, profile, tip_cc, left_ms, 1, 4, 2, gas_mg, alarm, page)
    return buf


def bar(text):
    """Page 0 of a frame whose bar says text at its left and nothing at its right."""
    buf, fb = screen.new_frame()
    fb.fill_rect(0, 0, screen.WIDTH, 8, 1)
    fb.text(text, 1, 0, 0)
    return buf[:1 + 8 * len(text)]


def test_each_state_names_itself_in_the_bar():
    for state in _ALL:
        name = states.STATE_NAMES[state]
        assert frame(state)[:1 + 8 * len(name)] == bar(name), name


def test_each_state_draws_its_own_frame():
    frames = [bytes(frame(s)) for s in _ALL]
    assert len(set(frames)) == len(frames)


def test_a_frame_is_the_ssd1306s_memory():
    buf, fb = screen.new_frame()
    assert len(buf) == screen.BYTES == screen.WIDTH * screen.HEIGHT // 8
    fb.pixel(0, 9, 1)  # MONO_VLSB: page 1, bit 1 of column 0
    assert buf[screen.WIDTH] == 2


def test_temperatures_in_tenths_of_a_degree():
    assert screen.celsius(-5023) == "-50.2C"
    assert screen.celsius(-5025) == "-50.3C"
    assert screen.celsius(3200) == "32.0C"
    assert screen.celsius(-4) == "0.0C"  # never "-0.0C"
    assert screen.celsius(-10000) == "-100.0C"
    assert screen.celsius(None) == "--.-C"


def test_what_each_state_says_fits_a_row():
    assert screen.status(states.TREATING, 12001) == "13 s left"
    assert screen.status(states.TREATING, -5) == "0 s left"
    assert screen.status(states.LOCKOUT, 4000) == "rest 4 s"
    assert screen.status(states.LOCKOUT, 0) == "checking valves"  # the rest is over: proving
    assert screen.status(states.IDLE, 0) == "ready"
    for state in _ALL:
        assert len(screen.status(state, 99000)) <= screen.COLUMNS


def test_wrap_keeps_words_whole_and_cuts_only_a_longer_one():
    assert screen.wrap("Tip sensor open circuit. Closing both valves.") == [
        "Tip sensor open", "circuit. Closing", "both valves."]
    assert screen.wrap("abcdefghijklmnopqrstu vw", 8) == ["abcdefgh", "ijklmnop", "qrstu vw"]
    assert screen.wrap("") == []


def test_every_alarm_text_is_shown_whole_over_its_pages():
    for row in alarms.TABLE:
        lines = screen.wrap(row[5])
        assert all(len(line) <= screen.COLUMNS for line in lines), row[1]
        assert " ".join(lines) == " ".join(row[5].split()), row[1]
        for state, rows in ((states.FAULT, screen.FAULT_ROWS), (states.IDLE, screen.ALARM_ROWS)):
            pages = screen._pages(row[0], state)
            assert pages * rows >= len(lines) > (pages - 1) * rows, row[1]


def test_a_long_alarm_text_turns_its_pages():
    longest = max(alarms.TABLE, key=lambda r: len(r[5]))
    first = frame(states.IDLE, alarm=longest[0], page=0)
    second = frame(states.IDLE, alarm=longest[0], page=1)
    assert first != second and first[:screen.WIDTH] == second[:screen.WIDTH]


def test_the_temperature_is_drawn_twice_the_fonts_size():
    small = bytearray(8)
    framebuf.FrameBuffer(small, 8, 8, framebuf.MONO_VLSB).text("1", 0, 0, 1)
    big = screen._big_glyph("1")
    for x in range(16):
        for y in range(16):
            want = (small[x // 2] >> (y // 2)) & 1
            assert big.pixel(x, y) == want, (x, y)


def test_gas_is_shown_only_when_the_gauge_knows_it():
    assert frame(states.IDLE, gas_mg=None) != frame(states.IDLE, gas_mg=6200)
    assert frame(states.IDLE, gas_mg=6200) == frame(states.IDLE, gas_mg=6299)  # tenths, down


def ceil_s(ms):
    """Milliseconds rounded up to whole seconds, as the view keeps them."""
    return (ms + 999) // 1000 * 1000


def test_the_view_follows_the_pen():
    rig = pen_rig.Rig()
    view = screen.view(rig.pen, rig.t)
    assert view[0] == states.IDLE and view[1] == "moderate" and view[4:7] == (0, 4, 1)
    rig.trigger = True
    rig.tick()
    state, _, tip_cc, left_ms, used, allowed, _, _, alarm, page = screen.view(rig.pen, rig.t)
    assert state == states.TREATING and used == 1 and alarm == 0 and page == 0
    assert tip_cc == rig.pen.sup.cc
    # Until the tip reaches target the contact limit is the end; from then, the hold's.
    assert rig.pen.target_ms < 0
    assert left_ms == ceil_s(rig.prof.contact_ms - (rig.t - rig.pen.sup.app_start_ms))
    for _ in range(100):
        rig.tick()
    assert rig.pen.target_ms >= 0
    left_ms = screen.view(rig.pen, rig.t)[3]
    assert left_ms == ceil_s(rig.prof.hold_ms - (rig.t - rig.pen.target_ms))
    rig.trigger = False
    rig.tick()
    state, _, _, left_ms, _, _, _, _, _, _ = screen.view(rig.pen, rig.t)
    assert state == states.LOCKOUT and 0 < left_ms <= rig.prof.rest_ms


def test_equal_views_draw_equal_frames():
    rig = pen_rig.Rig()
    a = screen.view(rig.pen, rig.t)
    assert a == screen.view(rig.pen, rig.t)
    buf1, fb1 = screen.new_frame()
    buf2, fb2 = screen.new_frame()
    fb2.fill(1)  # whatever was there before
    screen.draw(fb1, *a)
    screen.draw(fb2, *a)
    assert buf1 == buf2
