"""The pen with its contact estimate: the hold counts only on skin, no_contact
sounds when the tip is lifted and clears when it is back, an application mostly
in air ends as in_air, and no limit moves."""
from boards.sim import board
from firmware import alarms, limits, signals, states
from firmware import pen as pen_mod
from firmware.compat import TICKS_MASK
from firmware.pen import NO_CONTACT_MS
from tests.core.pen_rig import Rig, flows, is_state, profile

TICK = 10
NO_CONTACT = [row[0] for row in alarms.TABLE if row[1] == "no_contact"][0]


class SkinRig(Rig):
    """The tip in 1/100 cc: the board's spray while gas flows, warmed toward the skin
    (0.1 mm of epidermis) or, lifted, toward the room air."""

    def __init__(self, prof, **kw):
        self.x = 3000 * 100
        self.on_skin = True
        Rig.__init__(self, prof, tip_cc=3000, **kw)

    def tick(self, raw=None, raw2=None):
        out = Rig.tick(self, raw, raw2)
        cc = self.x // 100
        if flows(out):
            self.x -= self.pen.contact.spray_at(cc) * TICK // 10
        if self.on_skin:
            self.x += (3200 - cc) * 130 * TICK // 10000
        else:
            self.x += (2200 - cc) * 6 * TICK // 10000
        self.tip_cc = self.x // 100
        return out

    def until(self, done, limit_ms):
        """Ticks until done(out); returns the ms it took, or -1 within limit_ms."""
        t = 0
        while t < limit_ms:
            t += TICK
            if done(self.tick()):
                return t
        return -1


def treating(out):
    return is_state(out, "TREATING")


def test_the_hold_pauses_while_the_tip_is_in_air_and_never_outlasts_the_contact_limit():
    p = profile("moderate")  # 10 s hold, 20 s contact
    on_skin = SkinRig(p)
    on_skin.press()
    whole = on_skin.until(lambda out: not treating(out), 30000)
    assert on_skin.out.end_reason == states.END_COMPLETE
    lifted = SkinRig(p)
    lifted.press()
    lifted.run_ms(6000)  # at target, the hold running
    held = lifted.pen.held_ms
    assert held > 0
    lifted.on_skin = False
    lifted.run_ms(3000)
    assert lifted.pen.held_ms - held < 1000  # counted only until the lift was seen
    lifted.on_skin = True
    rest = lifted.until(lambda out: not treating(out), 30000)
    assert lifted.out.end_reason == states.END_COMPLETE
    longer = 6000 + 3000 + rest - whole
    assert 2000 <= longer <= 3000  # the lift, less what the estimate took to see it
    # Lifted for good: the hold never completes, the contact limit ends it on time.
    gone = SkinRig(p)
    gone.press()
    gone.run_ms(6000)
    gone.on_skin = False
    end = gone.until(lambda out: not treating(out), 30000)
    assert 6000 + end == p.contact_ms  # from the tick of the press
    assert gone.out.end_reason == states.END_IN_AIR
    assert gone.pen.held_ms < p.hold_ms
    assert not flows(gone.out)


def test_no_contact_sounds_within_1_5_s_of_a_lift_and_clears_when_the_tip_is_back():
    rig = SkinRig(profile("moderate"))
    rig.press()
    rig.run_ms(6000)
    assert rig.out.alarm == 0
    rig.on_skin = False
    t = rig.until(lambda out: out.alarm == NO_CONTACT, 3000)
    assert NO_CONTACT_MS < t <= 1500
    assert alarms.priority(rig.out.alarm) == alarms.LOW
    assert rig.out.beep == signals.BEEP_LOW and rig.out.fault == 0
    assert treating(rig.out)  # it only warns: the valve is the regulator's and the limits'
    rig.on_skin = True
    back = rig.until(lambda out: out.alarm == 0, 3000)
    assert 0 < back <= 1500
    assert treating(rig.out)


def test_an_application_mostly_in_air_ends_in_air_and_still_owes_its_rest():
    p = profile("very_long")  # 30 s hold, 40 s contact
    rig = SkinRig(p)
    rig.press()
    rig.run_ms(8000)
    rig.on_skin = False  # the example: lifted at 8 s, the trigger held on
    rig.until(lambda out: not treating(out), 50000)
    assert states.END_NAMES[rig.out.end_reason] == "in_air"
    assert is_state(rig.out, "LOCKOUT") and rig.out.alarm == 0
    assert rig.pen.sup.rest_end_ms - rig.t >= p.rest_ms - 100


def test_a_test_spray_in_air_never_counts_as_a_hold():
    p = profile("short")  # 5 s hold
    rig = SkinRig(p)
    rig.on_skin = False
    rig.press()
    rig.run_ms(9000)  # long enough for a hold on skin
    assert treating(rig.out) and rig.pen.held_ms < p.hold_ms
    rig.release()
    assert states.END_NAMES[rig.out.end_reason] == "in_air"


def test_a_stray_tap_is_still_a_tap_and_a_release_on_skin_is_released():
    rig = SkinRig(profile("moderate"))
    rig.press()
    rig.run_ms(30)  # 40 ms of spray: the tip 1 C colder, no tissue cooled
    rig.release()
    assert rig.out.end_reason == states.END_TAP
    rig.run_ms(100)
    rig.press()
    rig.run_ms(8000)
    rig.release()
    assert rig.out.end_reason == states.END_RELEASED


def test_the_end_reasons_keep_their_numbers():
    assert states.END_NAMES[:7] == ("", "released", "complete", "contact_limit",
                                    "session_cap", "fault", "tap")
    assert states.END_NAMES[states.END_IN_AIR] == "in_air"


def test_a_board_spray_outside_500_to_4000_cc_per_s_or_a_slope_over_500_is_refused():
    class Edge:
        pass

    for name in dir(board):
        setattr(Edge, name, getattr(board, name))
    assert limits.MAX_COOL_CC_PER_S == 4000
    for name, lo, hi in (("SPRAY_CC_PER_S", 500, 4000), ("SPRAY_SLOPE_PM", 0, 500)):
        for v in (lo, hi):
            setattr(Edge, name, v)
            pen = pen_mod.build(Edge, profile("moderate"))
            assert getattr(pen.contact, "spray" if name == "SPRAY_CC_PER_S" else "slope") == v
        for v in (lo - 1, hi + 1):
            setattr(Edge, name, v)
            try:
                pen_mod.build(Edge, profile("moderate"))
            except pen_mod.BoardError as e:
                assert str(e) == "board sim: %s = %d is outside %d..%d" % (name, v, lo, hi)
            else:
                assert False, (name, v)
        setattr(Edge, name, getattr(board, name))


# --- the pen's use of the estimate, to the millisecond: the estimate scripted ---------
class Judged:
    """A contact estimate whose judgement the test sets: every update returns on_skin."""

    def __init__(self):
        self.on_skin = True
        self.resets = 0

    def reset(self, cc):
        self.resets += 1

    def update(self, dt_ms, cc, flowed):
        return self.on_skin


AT_TARGET = -4950  # 'moderate' and the profiles below: target -50 C, at target from -49 C
SHORT_OF_IT = -4850


class JudgedRig(Rig):
    """A pen built with Judged, its tip held where the test puts it (a 0.1 C wobble
    every other tick, so that the reading never freezes), each tick after ms."""

    def __init__(self, prof, tip_cc=AT_TARGET, start_ms=0):
        Rig.__init__(self, prof, start_ms, tip_cc=tip_cc, boot=False)
        built = self.pen
        self.judged = Judged()
        self.pen = pen_mod.Pen(self.prof, built.thermistor, built.thermistor2, built.regulator,
                               start_ms, contact=self.judged)
        self.pen.gauge = built.gauge
        self.wobble = 0
        self.step(0)

    def raw(self):
        return self.pen.thermistor.raw_for(self.tip_cc - self.wobble)

    def raw2(self, raw=None):
        return self.pen.thermistor2.raw_for(self.tip_cc - self.wobble)

    def step(self, ms):
        self.t += ms
        self.wobble = 10 - self.wobble
        self.out = self.pen.tick(self.t & TICKS_MASK, self.raw(), self.raw2(), self.trigger,
                                 self.hw)
        return self.out

    def steps(self, n, ms=TICK):
        for _ in range(n):
            self.step(ms)
        return self.out

    def press(self, ms=TICK):
        self.trigger = True
        return self.step(ms)

    def release(self, ms=TICK):
        self.trigger = False
        return self.step(ms)


def test_a_pen_built_with_an_estimate_judges_contact_by_it():
    rig = JudgedRig(profile("moderate"))
    assert rig.pen.contact is rig.judged
    rig.press()
    assert rig.judged.resets == 1 and treating(rig.out)
    rig.judged.on_skin = False  # the tip does not move: only this estimate can say so
    rig.steps(NO_CONTACT_MS // TICK)
    assert rig.out.alarm == NO_CONTACT


def test_no_contact_sounds_on_the_tick_the_spell_in_air_reaches_150_ms():
    assert NO_CONTACT_MS == 150
    rig = JudgedRig(profile("moderate"))
    for _ in range(2):  # the second application starts with the first one's alarm gone
        rig.judged.on_skin = False
        rig.press(1)  # judged in air from its first tick: 1 ms of it
        for _ in range(148):
            assert rig.step(1).alarm == 0 and treating(rig.out)
        assert rig.step(1).alarm == NO_CONTACT
        rig.release(1)
        assert rig.out.end_reason == states.END_TAP  # 151 ms, the tip no colder
        rig.step(1)
    rig.judged.on_skin = True
    rig.press(1)
    rig.steps(10, 1)
    for _ in range(3):  # back on skin for one tick clears it and starts the count again
        rig.judged.on_skin = False
        for _ in range(149):
            assert rig.step(1).alarm == 0
        assert rig.step(1).alarm == NO_CONTACT
        rig.judged.on_skin = True
        assert rig.step(7).alarm == 0
    rig.judged.on_skin = False  # ticks of 7 ms: 147 ms, then 154
    for _ in range(21):
        assert rig.step(7).alarm == 0
    assert rig.step(7).alarm == NO_CONTACT


def test_the_hold_counts_every_millisecond_on_skin_and_none_in_air():
    p = profile("moderate", hold_s=1)
    rig = JudgedRig(p)
    rig.press(7)
    assert rig.pen.target_ms == rig.t & TICKS_MASK and rig.pen.held_ms == 0
    held = 0
    lengths = (7, 3, 11, 1, 13)
    i = 0
    while True:
        ms = lengths[i % len(lengths)]
        rig.judged.on_skin = i % 7 != 3  # in air one tick in seven
        i += 1
        out = rig.step(ms)
        if rig.judged.on_skin:
            held += ms
        if held >= p.hold_ms:
            break
        assert treating(out) and rig.pen.held_ms == held
    assert rig.out.end_reason == states.END_COMPLETE and held < p.hold_ms + 13


def test_left_is_the_hold_paused_in_air_or_the_contact_limit_whichever_is_sooner():
    p = profile("moderate", hold_s=1, contact_s=2)
    rig = JudgedRig(p, tip_cc=SHORT_OF_IT)
    rig.press()
    start = rig.t

    def left():
        return rig.pen.left_ms(rig.t & TICKS_MASK)

    rig.steps(10)
    assert left() == 1900  # short of target: the contact limit
    rig.tip_cc = AT_TARGET
    rig.step(TICK)  # at target at 110 ms
    rig.steps(30)  # 300 ms of hold on skin
    assert rig.pen.held_ms == 300 and left() == 700
    rig.judged.on_skin = False
    rig.steps(69)  # at 1100 ms: the contact limit 900 ms away, the paused hold 700
    assert rig.t - start == 1100 and left() == 700
    rig.steps(20)  # at 1300 ms: both 700 ms away
    assert left() == 700
    rig.step(TICK)
    assert left() == 690  # the contact limit, sooner now
    rig.judged.on_skin = True
    rig.step(TICK)
    assert rig.pen.held_ms == 310 and left() == 680


def in_air_after(rig, on_skin_ms, air_ms):
    """The end reason of an application on skin for on_skin_ms from the tick that
    started it or reached target, then in air for air_ms (ticks of 10 ms, the last
    one the release's, of 11 ms for an odd air_ms)."""
    rig.judged.on_skin = True
    rig.steps(on_skin_ms // TICK)
    rig.judged.on_skin = False
    rig.steps(air_ms // TICK - 1)
    rig.release(TICK + air_ms % TICK)
    return rig.out.end_reason


def test_an_application_is_in_air_only_when_more_than_half_of_it_was():
    for air_ms, reason in ((500, states.END_RELEASED), (501, states.END_IN_AIR)):
        rig = JudgedRig(profile("moderate"), tip_cc=SHORT_OF_IT)  # never at target
        rig.press()
        assert in_air_after(rig, 500, air_ms) == reason
        assert rig.pen.target_ms < 0 and not treating(rig.out)
    rig = JudgedRig(profile("moderate"), tip_cc=SHORT_OF_IT)
    rig.press()
    assert in_air_after(rig, 600, 400) == states.END_RELEASED  # over a third, not half


def test_once_at_target_only_the_hold_is_weighed_even_at_ticks_ms_0():
    for air_ms, reason in ((500, states.END_RELEASED), (501, states.END_IN_AIR)):
        rig = JudgedRig(profile("moderate"), tip_cc=SHORT_OF_IT, start_ms=TICKS_MASK + 1 - 620)
        rig.judged.on_skin = False
        rig.press()  # at -610 ms: 610 ms in air before target, forgotten at target
        rig.steps(60)
        rig.tip_cc = AT_TARGET
        rig.step(TICK)
        assert rig.t & TICKS_MASK == 0 and rig.pen.target_ms == 0
        assert in_air_after(rig, 500, air_ms) == reason


def test_no_contact_never_hides_a_worse_or_earlier_condition():
    # Low battery only inhibits the next application: it can be raised while treating,
    # and it comes before no_contact, of the same priority, in the table.
    battery = [row[0] for row in alarms.TABLE if row[1] == "low_battery"][0]
    rig = JudgedRig(profile("moderate"))
    rig.press()
    rig.hw = alarms.F_LOW_BATTERY
    rig.judged.on_skin = False
    rig.steps(NO_CONTACT_MS // TICK)
    assert rig.pen.no_contact and treating(rig.out)
    assert rig.out.alarm == battery
    rig.hw = 0
    assert rig.step(TICK).alarm == NO_CONTACT
