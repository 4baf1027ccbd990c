"""The control tick still allocates nothing with the display drawing between ticks:
each tick runs with the heap locked, and the display's slices (which allocate:
strings, the driver's buffers) run unlocked in between, as the shell runs them.
MicroPython only (heap locking)."""
import micropython

from firmware import states
from hal import display as display_mod, fake_oled
from tests.core import pen_rig


def test_ticks_allocate_nothing_while_the_display_draws_between_them():
    rig = pen_rig.Rig()
    display = display_mod.Display(fake_oled.Bus())
    pen = rig.pen
    drawn_in = []
    for i in range(600):  # 6 s: IDLE, an application, its rest
        rig.trigger = 50 <= i < 400
        raw = rig.raw()
        raw2 = rig.raw2()
        micropython.heap_lock()
        try:
            out = pen.tick(rig.t, raw, raw2, rig.trigger, 0)
        finally:
            micropython.heap_unlock()
        if out.valve and out.master:  # the rig's tip (tests/core/pen_rig.py)
            rig.tip_cc += (-8800 - rig.tip_cc) // 60
        else:
            rig.tip_cc += (3200 - rig.tip_cc) // 400
        rig.t += pen_rig.TICK
        frames = display.frames
        display.step(rig.t, pen)
        if display.frames != frames:
            drawn_in.append(out.state)
    assert pen.exceptions == 0, "a tick allocated under the locked heap"
    assert display.on and len(drawn_in) >= 20
    assert states.TREATING in drawn_in and states.LOCKOUT in drawn_in
