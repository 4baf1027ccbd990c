"""What the clinic configuration and the signals without a display add to the
tick allocates nothing, proved with the heap locked: the profile announcement,
DONE's heartbeat, and the restore gesture watched while the stored configuration
is refused. MicroPython only (tests/mpy/run.mjs)."""
import gc

import micropython

from boards.sim import board
from firmware import alarms, pen as pen_mod, profiles, signals, startup, states

TICK_MS = 10


def _locked(fn):
    gc.collect()
    micropython.heap_lock()
    try:
        return fn()
    finally:
        micropython.heap_unlock()


def test_a_tick_that_announces_the_profile_allocates_nothing():
    pen = pen_mod.build(board, profiles.builtin("moderate"), 0)
    raw = pen.thermistor.raw_for(2000)
    raw2 = pen.thermistor2.raw_for(2000)
    pen.tick(0, raw, raw2, False, 0)
    pen.offer(tuple(profiles.all_builtin()), 6)  # 7: long, short, short

    def run():
        t = TICK_MS
        heard = 0
        while t < 4000:
            out = pen.tick(t, raw, raw2, False, 0)
            if out.tone_hz == signals.ANNOUNCE_HZ:
                heard += 1
            t += TICK_MS
        return heard

    heard = _locked(run)
    assert pen.exceptions == 0, "a tick allocated under the locked heap"
    assert heard * TICK_MS == signals.ANNOUNCE_LONG_MS + 2 * signals.ANNOUNCE_SHORT_MS, heard


def test_the_heartbeat_allocates_nothing():
    s = signals.Signals()

    def run():
        on = 0
        t = 0
        while t < 4000:
            if s.led(states.DONE, t):
                on += 1
            t += TICK_MS
        return on

    assert _locked(run) == 4 * 10  # four 100 ms flashes in 4 s


def test_watching_for_the_restore_gesture_allocates_nothing():
    pen = pen_mod.build(board, profiles.builtin("moderate"), 0)
    clinic = startup.Clinic(None, pen.profile)
    clinic.problem = "test"
    pen.out.state = states.IDLE
    pen.state = states.IDLE
    pen.out.alarm = alarms.worst(alarms.F_CONFIG)

    def run():
        t = 0
        taken = 0
        while t < 4000:  # held, short of the hold time: each press is refused
            if clinic.watch(t, True, t % 500 == 0, pen):
                taken += 1
            t += TICK_MS
        clinic.watch(t, False, False, pen)
        return taken

    assert _locked(run) == 8
    assert clinic.problem == "test"
