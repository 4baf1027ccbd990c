"""The display in the shell (hal/display.py, firmware/app.py): micropython-lib's
ssd1306 driver on a fake I2C bus to an SSD1306 that keeps its RAM (hal/fake_oled.py).
A drawing reaches the panel one page per loop iteration, at most 5 a second; an
error turns the display off for the rest of the boot, is recorded once, and never
changes what the valves do. Runs under CPython (the driver and framebuf from
tests/conftest.py) and under MicroPython (the interpreter's framebuf, the driver
where mip puts it)."""
from boards.sim import board
from firmware import journal as journal_mod, pen as pen_mod, profiles, record, screen, states
from firmware.app import App
from hal import display as display_mod, fake_oled
from hal.fake import FakeHal
from tests.core import pen_rig

TICK = 10


def started():
    """A display on a fresh bus, and the pen it shows."""
    bus = fake_oled.Bus()
    d = display_mod.Display(bus)
    rig = pen_rig.Rig()
    return bus, d, rig


def test_the_drivers_set_up_leaves_a_blank_panel_switched_on():
    bus, d, _ = started()
    assert d.on and d.error == "" and d.pending == 0
    assert bus.panel.on and bus.panel.frame() == bytes(1024)


def test_a_frame_reaches_the_panel_one_page_per_step():
    bus, d, rig = started()
    writes = bus.panel.writes
    d.step(rig.t, rig.pen)  # draws, sends nothing
    assert d.frames == 1 and d.pending == 8 and bus.panel.writes == writes
    for page in range(8):
        d.step(rig.t, rig.pen)
        assert bus.panel.writes == writes + page + 1  # one data write each
    assert d.pending == 0
    buf, fb = screen.new_frame()
    screen.draw(fb, *screen.view(rig.pen, rig.t))
    assert bus.panel.frame() == bytes(buf)


def test_at_most_five_frames_a_second_and_none_while_nothing_changes():
    bus, d, rig = started()
    t = rig.t
    drawn = []
    for i in range(300):  # 3 s of loop iterations
        frames = d.frames
        d.step(t + i * TICK, rig.pen)
        if d.frames != frames:
            drawn.append(i * TICK)
    assert drawn == [0]  # the pen stood still: one frame
    rig.trigger = True
    d2 = display_mod.Display(fake_oled.Bus())
    drawn = []
    for i in range(300):
        rig.tick()
        frames = d2.frames
        d2.step(rig.t, rig.pen)
        if d2.frames != frames:
            drawn.append(rig.t)
    gaps = [b - a for a, b in zip(drawn, drawn[1:])]
    assert len(drawn) >= 10 and min(gaps) >= display_mod.RENDER_MS


def test_an_i2c_error_turns_it_off_for_good():
    bus, d, rig = started()
    d.step(rig.t, rig.pen)
    bus.fail = OSError(110)
    d.step(rig.t, rig.pen)
    assert not d.on and d.error == "errno 110" and d.pending == 0
    count = bus.transactions
    bus.fail = None
    for i in range(50):  # one try at switching the panel off, then never the bus again
        d.step(rig.t + 1000 * i, rig.pen)
    assert bus.transactions == count + 1 and not bus.panel.on


def test_an_error_in_drawing_turns_it_off_and_dark():
    bus, d, rig = started()
    d.step(rig.t, None)  # no pen: the view raises
    assert not d.on and d.error == "AttributeError"
    d.step(rig.t, rig.pen)
    assert not bus.panel.on  # a frame frozen on the panel would mislead


def test_a_display_that_cannot_start_is_off_with_its_reason():
    bus = fake_oled.Bus()
    bus.addr = 0x3D  # nothing answers at 0x3C
    d = display_mod.Display(bus)
    assert not d.on and d.error == "errno 5"

    def missing(*args):
        raise ImportError("no module named 'ssd1306'")

    assert display_mod.Display(fake_oled.Bus(), driver=missing).error == "no driver"


class Flash:
    """What the shell writes, kept in memory."""

    def __init__(self):
        self.records = []

    def append(self, data):
        self.records.append(record.decode(data))

    def save_state(self, state):
        pass


class Tip:
    tip_c = 32.0
    handle_c = 30.0


def run_pen(display, fail_at=None, ticks=800):
    """An application of the moderate profile through App.step on hal.fake; the tip
    follows the gas. Returns (what the valves were told each tick, the App, its flash)."""
    tip = Tip()
    hal = FakeHal(board, tip)
    pen = pen_mod.build(board, profiles.builtin("moderate"), 0)
    flash = Flash()
    app = App(hal, pen, flash, journal_mod.Journal(1, 1, 15), display=display)
    told = []
    for i in range(ticks):
        hal.pressed = 50 <= i < 600
        if fail_at is not None and i == fail_at:
            display._oled.i2c.fail = OSError(5)
        out = app.step()
        told.append((out.valve, out.master))
        tip.tip_c += -0.4 if hal.gas_flows else (32.0 - tip.tip_c) / 200
        hal.advance(TICK)
    return told, app, flash


def test_the_valves_do_the_same_with_a_display_without_one_and_with_one_that_fails():
    without, _, flash = run_pen(None)
    display = display_mod.Display(fake_oled.Bus())
    failing, app, flash2 = run_pen(display, fail_at=400)  # 3.5 s into the application
    assert without == failing
    assert any(v for v, _ in without)  # an application ran
    assert display.frames > 10 and not display.on  # it drew until its bus failed
    assert app.pen.out.state == states.LOCKOUT
    # The failure is in the record, once, and nothing else differs there.
    noted = [r for r in flash2.records if r["kind"] == "change"]
    assert [(r["what"], r["detail"]) for r in noted] == [(record.CHANGE_DISPLAY, "errno 5")]
    assert [r for r in flash2.records if r["kind"] != "change"] == flash.records
