"""Property-based proof of the valve invariants over generated sequences of
trigger presses, readings, time jumps, tick jitter, faults and resets, under
generated (valid) profiles. The invariants are checked on every tick.

Each tick is four bytes of one drawn byte string, decoded into its fields: one
draw per sequence (not one per tick) keeps 10,000 sequences within the test
budget, as Hypothesis's cost per draw far exceeds the pen's per tick. A failure
prints the decoded sequence.

Every run draws fresh sequences from a new seed, which `make test` prints at the
end (TERMINAL_SUMMARY); CRYOPEN_SEED=N replays a run (pytest's --hypothesis-seed=N
too). A failing sequence is kept in Hypothesis's example database under
.hypothesis/ (ignored by git) and tried first in every later run until it passes.
CRYOPEN_EXAMPLES sets the number of sequences (10,000)."""
import functools
import os
import random

from hypothesis import HealthCheck, core as hypothesis_core, given, note, seed, settings, \
    strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase

from boards.sim import board
from firmware import alarms, limits, pen as pen_mod, profiles, states, thermistor
from firmware.compat import TICKS_PERIOD
from firmware.regulator import Regulator

EXAMPLES = int(os.environ.get("CRYOPEN_EXAMPLES", "10000"))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATABASE = os.path.join(ROOT, ".hypothesis", "examples")


def _run_seed():
    """CRYOPEN_SEED, else pytest's --hypothesis-seed, else a new one for this run."""
    if os.environ.get("CRYOPEN_SEED"):
        return int(os.environ["CRYOPEN_SEED"])
    forced = getattr(hypothesis_core, "global_force_seed", None)
    if forced is not None:
        try:
            return int(forced)
        except (TypeError, ValueError):
            pass
    return random.SystemRandom().getrandbits(32)


SEED = _run_seed()
TERMINAL_SUMMARY = []
_RUN = {"sequences": 0}
THERM = thermistor.from_board(board)
THERM2 = thermistor.from_board(board, True)
# The readings at a tip temperature, computed once each: the float conversion is the
# test's own cost, not the pen's, and 10,000 sequences repeat the same temperatures.
RAW1 = functools.lru_cache(maxsize=None)(THERM.raw_for)
RAW2 = functools.lru_cache(maxsize=None)(THERM2.raw_for)

_profile = st.builds(
    lambda contact, hold_frac, rest, session_x, cycles, target, gap: profiles.load({
        "name": "generated", "kind": "freeze", "target_c": target, "floor_c": target - gap,
        "hold_s": round(contact * hold_frac, 2), "contact_s": contact, "rest_s": rest,
        "session_s": min(300, contact * session_x), "cycles": cycles,
        "cool_window_s": min(1.0, contact), "cool_drop_c": 3}),
    contact=st.sampled_from([1.0, 1.0, 2.5, 5, 10, 45]),
    hold_frac=st.sampled_from([0, 0.5, 1]),
    rest=st.sampled_from([5, 5, 30]),
    session_x=st.sampled_from([1, 1.5, 2, 3, 300]),  # the session cap binds within a sequence
    cycles=st.integers(1, 4),
    target=st.sampled_from([4, -20, -50]),
    gap=st.sampled_from([5, 20, 40]),
)

_DT = (10, 10, 10, 5, 15, 9, 1, 40, 250, 500, 1000, 2500, 1500, 6000, 10, 10)  # divide the contact times
_HW = (alarms.F_ADC, alarms.F_LOW_BATTERY, alarms.F_BACKSTOP, alarms.F_LOW_BATTERY)
_FAULT_KINDS = ("open", "short", "stale", "stale", "jump", "raw", "stale", "jump")
_GOLDEN = 0x9E3779B97F4A7C15  # scrambles Hypothesis's small integers into well-spread bits


class Step:
    """One tick decoded from an integer: dt, trigger toggle, reading, HAL bits, reset.
    rate (0..8) sets how often a sequence sees faults: 1 in 2**(12 - rate) ticks."""

    def __init__(self, n, rate):
        n = n * _GOLDEN & ((1 << 64) - 1)
        odds = (1 << (12 - rate)) - 1
        self.dt = _DT[n & 15]
        self.toggle = (n >> 4 & 15) == 0  # the trigger changes one tick in sixteen
        self.kind = _FAULT_KINDS[n >> 7 & 7] if (n >> 10 & odds) == 0 else "walk"
        self.delta = (n >> 22 & 511) - 256
        self.raw = n >> 31 & 0xFFFF
        self.hw = _HW[n >> 47 & 3] if (n >> 49 & odds) == 0 else 0
        self.reset = (n >> 61 & 7) == 0 and self.dt > 100

    def __repr__(self):
        return "Step(dt=%d, toggle=%s, %s %d, raw=%d, hw=%d, reset=%s)" % (
            self.dt, self.toggle, self.kind, self.delta, self.raw, self.hw, self.reset)


class Reference:
    """What the invariants need, tracked independently of the pen."""

    def __init__(self, prof, start_ms, watchdog):
        self.prof = prof
        self.t = start_ms
        self.last_end = start_ms if watchdog else None  # a watchdog reset rests first
        self.app_start = None
        self.open_in_session = 0
        self.prev_trigger = False
        self.prev_valve = False
        self.prev_state = states.BOOT
        self.pressed_entering_idle = False
        self.new_session = False  # this tick starts a session: it starts no application
        self.alone_since = None  # when one valve alone opened (a proving step) ...
        self.alone_main = False  # ... and whether that valve is the main one

    def check(self, out, trigger, dt, input_fault):
        p = self.prof
        if self.prev_valve:  # the gas path was open for the last interval
            self.open_in_session += dt
        rising = trigger and not self.prev_trigger
        if out.state == states.TREATING and self.app_start is None:
            # opens only on a fresh press: an application starts on a rising edge, or
            # one tick after it when that edge came as the pen became IDLE (it stores
            # its state ahead of the application first)
            assert rising or (trigger and self.pressed_entering_idle)
            if self.last_end is not None:  # the rest after the last application has run
                assert (self.t - self.last_end) % TICKS_PERIOD >= p.rest_ms
            self.app_start = self.t
        elif out.state != states.TREATING:
            if self.app_start is not None:
                if out.end_reason == states.END_TAP:  # owes no rest: only a short one
                    assert (self.t - self.app_start) % TICKS_PERIOD < limits.STRAY_TAP_MS
                else:
                    self.last_end = self.t
            self.app_start = None
        gas = out.valve and out.master
        if out.valve != out.master and out.state != states.TREATING:
            # One valve alone outside an application: a proving step, short and healthy.
            assert out.state in (states.LOCKOUT, states.DONE) and out.fault == 0
            if self.alone_since is None or self.alone_main != out.valve:
                self.alone_since = self.t
                self.alone_main = out.valve
            assert (self.t - self.alone_since) % TICKS_PERIOD < limits.PROVE_OPEN_MS
            if out.valve:
                assert out.backstop_ms <= limits.PROVE_OPEN_MS + limits.BACKSTOP_MARGIN_MS
        else:
            self.alone_since = None
        if gas:
            assert out.state == states.TREATING  # never open in FAULT, LOCKOUT, DONE, IDLE, BOOT
            assert out.fault == 0  # closed on the tick of any fault
            assert not input_fault  # a faulty input closes on this very tick
            assert (self.t - self.app_start) % TICKS_PERIOD < p.contact_ms  # contact limit
            assert self.open_in_session < p.session_ms  # session cap not spent
            assert out.backstop_ms <= p.contact_ms + limits.BACKSTOP_MARGIN_MS
        if out.state == states.FAULT:
            assert not out.valve and not out.master
        # A press that rose on a tick that could not start (the pen became IDLE, or a
        # session began) stays pending while it is held and the pen waits.
        waiting = out.state == states.IDLE and (self.prev_state != states.IDLE
                                                or self.new_session)
        self.pressed_entering_idle = trigger and waiting and (
            rising or self.pressed_entering_idle)
        self.new_session = False
        self.prev_state = out.state
        self.prev_trigger = trigger
        self.prev_valve = gas


def _reading(s, cc, valve):
    """(raw, new tip cc, whether the reading itself is a fault). The walk follows
    the valve (toward -88 C while open, toward skin temperature while closed) plus
    noise, so applications can run to their limits."""
    if s.kind == "walk":
        step = min(s.dt, 100)
        settle = min(s.dt, 1000)
        aim, tau = (-8800, 2000) if valve else (3200, 20000)
        cc += s.delta * step // 400 + (aim - cc) * settle // tau
        cc = max(-9000, min(4500, cc))
        return RAW1(cc), cc, False
    if s.kind == "open":
        return 65535, cc, True
    if s.kind == "short":
        return 0, cc, True
    if s.kind == "stale":
        return -1, cc, False
    if s.kind == "jump":
        return RAW1(max(-9000, cc - 2000)), cc, False
    return s.raw, cc, False


def test_valve_invariants_hold_on_every_tick():
    try:
        _sequences()
    finally:  # printed after a failure too: the seed replays it
        TERMINAL_SUMMARY.append(
            "valve invariants: %d generated sequences, seed %d (replay: CRYOPEN_SEED=%d make "
            "test); failing ones kept in %s" % (_RUN["sequences"], SEED, SEED,
                                                os.path.relpath(DATABASE, ROOT)))


# What one generated sequence is made of (tests/host/test_property_seed.py draws
# from these too).
SEQUENCE = dict(prof=_profile,
                codes=st.binary(min_size=12 * 4, max_size=40 * 4),  # 4 bytes a tick
                rate=st.integers(0, 8), start=st.sampled_from([0, TICKS_PERIOD - 2500]),
                watchdog=st.sampled_from([False] * 9 + [True]))
# derandomize=False outright: Hypothesis loads its "ci" profile, which derandomizes,
# whenever the CI variable is set, and CI must search anew like every other run.
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                    database=DirectoryBasedExampleDatabase(DATABASE),
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check_sequence(prof, codes, rate, start, watchdog):
    """Runs one generated sequence through the pen, checking the invariants on every tick."""
    _RUN["sequences"] += 1
    steps = [Step(int.from_bytes(codes[i:i + 4], "little"), rate)
             for i in range(0, len(codes) - 3, 4)]
    note(repr(steps))
    reg = Regulator(board.REG_KP, board.REG_KI, board.REG_FF, board.VALVE_MIN_ON_MS,
                    board.VALVE_MIN_OFF_MS)
    pen = pen_mod.Pen(prof, THERM, THERM2, reg, start, watchdog)
    ref = Reference(prof, start, watchdog)
    cc = 2500
    trigger = False
    for s in steps:
        ref.t = (ref.t + s.dt) % TICKS_PERIOD
        trigger = trigger != s.toggle
        if s.reset:
            pen.reset(ref.t)
            if pen.new_session(ref.t):  # in IDLE or DONE: the counts start again next tick
                ref.open_in_session = 0
                ref.new_session = True
        raw, cc, input_fault = _reading(s, cc, ref.prev_valve)
        out = pen.tick(ref.t, raw, RAW2(cc), trigger, s.hw)  # faults hit sensor 1
        ref.check(out, trigger, s.dt, input_fault or bool(s.hw & alarms.LATCHING_BITS))


# The settings outermost: @seed alone turns the example database off, and here it
# stays on (failing sequences first, then fresh ones from SEED).
_sequences = SETTINGS(seed(SEED)(given(**SEQUENCE)(check_sequence)))
