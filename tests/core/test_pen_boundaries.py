"""The pen's timing and temperature rules at their exact edges, with readings fed
tick by tick: the hold, stray taps, valve proving, and what a cutoff sounds like."""
from firmware import alarms, limits, signals, states, thermistor
from firmware.compat import TICKS_PERIOD
from tests.core.pen_rig import Rig, flows, is_state, profile


def exact_raw(th, cc):
    """A reading that converts to exactly cc."""
    r = th.raw_for(cc)
    for d in range(200):
        for raw in (r + d, r - d):
            if th.read(raw) == thermistor.OK and th.cc == cc:
                return raw
    raise AssertionError("no reading converts to %d" % cc)


_READINGS = {}  # cc -> (sensor 1's reading, sensor 2's): every rig has the sim board's


def feed(rig, cc):
    """One tick in which the colder sensor (sensor 1) reads exactly cc; sensor 2 a
    little warmer. Returns the outputs."""
    if cc not in _READINGS:
        _READINGS[cc] = (exact_raw(rig.pen.thermistor, cc), rig.pen.thermistor2.raw_for(cc + 50))
    raw, raw2 = _READINGS[cc]
    return rig.tick(raw=raw, raw2=raw2)


def walk(rig, cc, to_cc):
    """Ticks with readings from cc to to_cc, 1 C a tick (100 C/s: a plausible rate)."""
    while cc != to_cc:
        cc = max(cc - 100, to_cc) if to_cc < cc else min(cc + 100, to_cc)
        out = feed(rig, cc)
    return out


def hold(start_ms=0):
    """An application whose reading walks down to exactly 1 C above target and stays
    within the band. Returns (the tick that reached it, the tick that ended the
    application, the beeps from then on, the end reason); times from start_ms, unwrapped."""
    p = profile("short", hold_s=2)
    rig = Rig(p, start_ms=start_ms, tip_cc=2000)
    feed(rig, 2000)
    rig.trigger = True
    walk(rig, 2000, p.target_cc + limits.AT_TARGET_CC)
    reached = rig.t - 10  # this tick read exactly 1 C above target
    beeps = []
    n = 0
    while is_state(rig.out, "TREATING"):
        n += 1
        beeps.append(feed(rig, p.target_cc + limits.AT_TARGET_CC - 1 - n % 2).beep)  # not stuck
    return reached - start_ms, rig.t - 10 - start_ms, beeps, rig.out.end_reason


def test_the_hold_starts_within_one_degree_of_target_and_lasts_exactly_the_hold_time():
    hold_ms = profile("short", hold_s=2).hold_ms
    reached, end, beeps, reason = hold()
    assert reason == states.END_COMPLETE and end - reached == hold_ms
    # The near-end signal: the hold's last second, up to the tick that ends it.
    near = signals.NEAR_END_MS // 10  # ticks
    assert beeps[-near - 1:-1] == [signals.BEEP_NEAR] * near
    assert beeps[-near - 2] == signals.BEEP_SECOND
    # Reaching target on the tick the millisecond counter wraps to 0 changes nothing.
    assert hold(TICKS_PERIOD - reached)[:3] == (reached, end, beeps)


def tap(release_after_ms, coldest_below_ready_cc):
    """A press released after release_after_ms, its coldest reading so far below the
    tip's temperature when the pen became ready. Returns the outputs on release."""
    rig = Rig(profile("moderate"), boot=False)
    for _ in range(3):
        feed(rig, 2000)
    rig.trigger = True
    start = rig.t
    walk(rig, 2000, 2000 - coldest_below_ready_cc)
    while rig.t - start < release_after_ms:
        feed(rig, 2000 - coldest_below_ready_cc)
    rig.trigger = False
    return feed(rig, 2000 - coldest_below_ready_cc)


def test_a_stray_tap_is_released_within_half_a_second_having_cooled_less_than_2_c():
    assert tap(limits.STRAY_TAP_MS - 10, limits.STRAY_DROP_CC - 1).end_reason == states.END_TAP
    out = tap(limits.STRAY_TAP_MS, limits.STRAY_DROP_CC - 1)  # released at 0.5 s: not a tap
    assert out.end_reason == states.END_RELEASED and is_state(out, "LOCKOUT")
    out = tap(limits.STRAY_TAP_MS - 10, limits.STRAY_DROP_CC)  # cooled by 2 C: not a tap
    assert out.end_reason == states.END_RELEASED and is_state(out, "LOCKOUT")


def proving(rig, drop_cc):
    """Ticks an ended application through its proving; once the first valve has opened
    alone, the tip reads drop_cc colder. Returns (time, valve, master, fault) per tick."""
    seen = []
    opened = False
    for _ in range(limits.PROVE_AFTER_MS // 10 + 2 * limits.PROVE_STEP_MS // 10 + 10):
        out = feed(rig, 1000 - drop_cc if opened else 1000)
        opened = opened or (out.valve and not out.master)
        seen.append((rig.t - 10, out.valve, out.master, out.fault))
    return seen


def ended(cc=1000):
    rig = Rig(profile("moderate"), tip_cc=cc)
    for _ in range(3):
        feed(rig, cc)
    rig.trigger = True
    walk(rig, cc, cc - 300)
    for i in range(100):
        feed(rig, cc - 300 - i % 2)
    rig.trigger = False
    feed(rig, cc - 300)
    end = rig.t - 10
    walk(rig, cc - 300, cc)  # warming back once closed
    return rig, end


def test_each_valve_is_proved_alone_on_the_exact_schedule():
    rig, end = ended()
    seen = proving(rig, 0)
    main = [t for t, v, m, _ in seen if v and not m]
    second = [t for t, v, m, _ in seen if m and not v]
    assert main[0] == end + limits.PROVE_AFTER_MS
    assert main[-1] == main[0] + limits.PROVE_OPEN_MS - 10
    assert second[0] == main[0] + limits.PROVE_STEP_MS
    assert second[-1] == second[0] + limits.PROVE_OPEN_MS - 10
    assert all(f == 0 for *_, f in seen)


def test_a_proving_step_allows_a_drop_of_one_degree_and_not_one_centi_degree_more():
    rig, _ = ended()
    assert all(f == 0 for *_, f in proving(rig, limits.PROVE_DROP_CC))
    rig, _ = ended()
    assert proving(rig, limits.PROVE_DROP_CC + 1)[-1][3] == alarms.F_MASTER_LEAK


def test_the_tick_a_cutoff_ends_the_application_is_no_refused_press():
    rig = Rig(profile("aftercare", contact_s=2))
    rig.press()
    opened = rig.run_ms(1990)
    assert opened
    out = rig.tick()  # the contact limit, the trigger still held
    assert out.end_reason == states.END_CONTACT and out.beep != signals.BEEP_REFUSED
    assert not flows(rig.tick())
