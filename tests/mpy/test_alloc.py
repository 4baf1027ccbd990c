"""The control tick allocates nothing, proved with the heap locked: any
allocation then raises MemoryError, which the pen's tick turns into a latched
FAULT. The fail-closed path must work even when nothing can be allocated."""
import gc

import micropython

from boards.sim import board
from firmware import alarms, states
from firmware import pen as pen_mod
from firmware import profiles
from firmware.compat import TICKS_PERIOD, ticks_add, ticks_diff

TICK_MS = 10
LOCKED_TICKS = 200
LO_CC = -6000  # span of the bench tip, in steps of STEP_CC
HI_CC = 2500
STEP_CC = 10
COOL_CC = 20  # per tick while the valve is open (20 C/s)
WARM_CC = 10  # per tick while it is closed
SKIN_CC = 2000
NEAR_WRAP_MS = TICKS_PERIOD - 3000  # the runs cross the tick counter's wrap

_RAWS = []  # each sensor's reading at each bench temperature, computed once
_RAWS2 = []


class Bench:
    """A pen and a tip that cools a fixed step per tick while the valve is open
    and warms while it is closed. The readings are computed before the run, so
    the loop itself allocates nothing."""

    def __init__(self):
        self.pen = pen_mod.build(board, profiles.builtin("moderate"), NEAR_WRAP_MS)
        if not _RAWS:
            for th, raws in ((self.pen.thermistor, _RAWS), (self.pen.thermistor2, _RAWS2)):
                raws.extend(th.raw_for(cc) for cc in range(LO_CC, HI_CC + 1, STEP_CC))
        self.raws = _RAWS
        self.raws2 = _RAWS2
        self.t = NEAR_WRAP_MS
        self.tip_cc = SKIN_CC
        self.trigger = False
        self.out = self.run(1)

    def run(self, ticks):
        # At most three names per line: the compiler builds no tuple for those.
        pen, raws, raws2 = self.pen, self.raws, self.raws2
        trigger = self.trigger
        t, tip = self.t, self.tip_cc
        n = 0
        while n < ticks:
            i = (tip - LO_CC) // STEP_CC
            out = pen.tick(t, raws[i], raws2[i], trigger, 0)
            if out.valve and out.master:
                tip -= COOL_CC
            elif tip < SKIN_CC:
                tip += WARM_CC
            t = ticks_add(t, TICK_MS)
            n += 1
        self.t, self.tip_cc = t, tip
        self.out = out
        return out


def run_locked(bench, ticks):
    micropython.heap_lock()
    try:
        bench.run(ticks)
    finally:
        micropython.heap_unlock()
    return bench.out


def assert_allocates_nothing(bench, ticks, state):
    """Both proofs: no MemoryError under the lock, and no growth of the heap without it."""
    gc.collect()
    before = gc.mem_alloc()
    bench.run(ticks)
    assert gc.mem_alloc() == before, gc.mem_alloc() - before
    out = run_locked(bench, ticks)
    assert bench.pen.exceptions == 0, "a tick allocated under the locked heap"
    assert out.state == state, states.STATE_NAMES[out.state]


def treating_bench():
    """Trigger held, tip brought from skin temperature to the target: the
    regulator is modulating, short of the hold time."""
    bench = Bench()
    bench.run(50)
    bench.trigger = True
    bench.run(400)
    assert bench.out.state == states.TREATING
    return bench


def run_until_open(bench):
    for _ in range(20):
        if bench.run(1).valve:
            return
    raise AssertionError("the valve did not open within 20 ticks")


def test_the_lock_catches_allocation():
    micropython.heap_lock()
    try:
        [0]
        caught = False
    except MemoryError:
        caught = True
    finally:
        micropython.heap_unlock()
    assert caught


def test_tick_arithmetic_across_the_wrap_allocates_nothing():
    near = TICKS_PERIOD - 5
    micropython.heap_lock()
    try:
        forward = ticks_diff(5, near)
        back = ticks_diff(near, 5)
        over = ticks_add(near, 10)
        under = ticks_add(5, -10)
    finally:
        micropython.heap_unlock()
    assert (forward, back, over, under) == (10, -10, 5, near)


def test_idle_tick_allocates_nothing():
    bench = Bench()
    bench.run(100)
    assert_allocates_nothing(bench, LOCKED_TICKS, states.IDLE)


def test_treating_tick_allocates_nothing():
    bench = treating_bench()
    target = bench.pen.profile.target_cc
    assert abs(bench.pen.sup.cc - target) <= 300, bench.pen.sup.cc
    opened = closed = 0
    micropython.heap_lock()
    try:
        n = 0
        while n < LOCKED_TICKS:
            if bench.run(1).valve:
                opened += 1
            else:
                closed += 1
            n += 1
    finally:
        micropython.heap_unlock()
    assert bench.pen.exceptions == 0, "a tick allocated under the locked heap"
    assert bench.out.state == states.TREATING
    assert opened and closed  # the regulator modulates: both valve states were exercised
    assert_allocates_nothing(bench, LOCKED_TICKS, states.TREATING)


def test_starting_and_ending_an_application_allocates_nothing():
    bench = Bench()
    bench.run(50)
    bench.trigger = True
    out = run_locked(bench, 1)
    assert bench.pen.exceptions == 0, "the start tick allocated"
    assert out.state == states.TREATING and out.valve
    bench.run(100)
    bench.trigger = False
    out = run_locked(bench, 1)
    assert bench.pen.exceptions == 0, "the end tick allocated"
    assert out.state == states.LOCKOUT


def rested_bench():
    """One application of a second, released: the pen in its rest."""
    bench = Bench()
    bench.run(50)
    bench.trigger = True
    bench.run(100)
    bench.trigger = False
    bench.run(10)
    return bench


def test_lockout_tick_allocates_nothing():
    assert_allocates_nothing(rested_bench(), LOCKED_TICKS, states.LOCKOUT)


def test_valve_proving_after_an_application_allocates_nothing():
    bench = rested_bench()
    gc.collect()
    before = gc.mem_alloc()
    out = run_locked(bench, 400)  # the still-cooling window, then both proving steps
    assert bench.pen.exceptions == 0, "a proving tick allocated under the locked heap"
    assert gc.mem_alloc() == before
    assert out.fault == 0 and out.state == states.LOCKOUT
    assert bench.pen.prove_step == 0  # both steps ran and passed


def test_fault_tick_with_the_alarm_sounding_allocates_nothing():
    bench = treating_bench()
    bench.raws = [65535] * len(_RAWS)  # thermistor open circuit from here on
    bench.run(1)
    assert_allocates_nothing(bench, LOCKED_TICKS, states.FAULT)
    assert bench.out.alarm == alarms.worst(alarms.F_OPEN)


class BrokenThermistor:
    cc = 0

    def read(self, raw):
        raise OSError(5)


def test_exception_in_the_tick_closes_the_valve_and_latches_fault():
    bench = treating_bench()
    run_until_open(bench)
    bench.pen.thermistor = BrokenThermistor()
    out = bench.pen.tick(bench.t, 30000, 30000, True, 0)
    assert out.valve is False and out.master is False
    assert out.state == states.FAULT
    assert out.fault & alarms.F_EXCEPTION
    assert bench.pen.exceptions == 1


def test_fail_closed_works_with_no_heap_left():
    bench = treating_bench()
    run_until_open(bench)
    bench.pen.thermistor = BrokenThermistor()
    micropython.heap_lock()
    try:
        out = bench.pen.tick(bench.t, 30000, 30000, True, 0)
    finally:
        micropython.heap_unlock()
    assert out.valve is False and out.master is False
    assert out.state == states.FAULT
    assert out.alarm == alarms.worst(alarms.F_EXCEPTION)


def test_the_low_gas_warning_and_a_new_cartridge_allocate_nothing():
    """The gauge near empty: IDLE ticks with the low-gas alarm sounding, an application
    that counts the gas down to empty, and the tick that takes a new cartridge."""
    bench = Bench()
    gauge = bench.pen.gauge
    gauge.open_ms = gauge._empty_ms - 500  # half a second of gas left, by the estimate
    bench.run(100)
    assert_allocates_nothing(bench, LOCKED_TICKS, states.IDLE)
    assert bench.out.alarm == alarms.worst(alarms.F_LOW_GAS)
    bench.trigger = True
    out = run_locked(bench, 1500)  # past empty: the count stops there
    assert bench.pen.exceptions == 0, "a counting tick allocated"
    assert gauge.left_mg() == 0 and out.gas_left_mg == 0
    bench.trigger = False
    bench.run(1000)  # the rest
    assert bench.out.state == states.IDLE
    assert bench.pen.new_cartridge(bench.t)
    out = run_locked(bench, 1)
    assert bench.pen.exceptions == 0, "the tick that took the cartridge allocated"
    assert out.alarm == 0 and out.gas_left_mg == gauge.size_mg
