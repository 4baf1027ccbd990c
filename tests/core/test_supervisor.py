"""The supervisor on its own: its starting state (part of the fail-closed
contract), latching that accumulates, and exact boundaries."""
from firmware import alarms, limits, states, thermistor
from firmware.supervisor import Supervisor
from tests.core.pen_rig import Rig, is_state, profile


def both(sup, now_ms, dt_ms, raw, status, cc, hw_bits):
    """Both tip sensors read the same: the single-sensor checks on their own."""
    sup.sense(now_ms, dt_ms, raw, status, cc, raw, status, cc, hw_bits)


def test_a_new_supervisor_starts_closed_empty_and_unfaulted():
    sup = Supervisor(profile(), 1000, False)
    assert sup.valve is False  # the valve is taken to be closed
    assert sup.fault == 0 and sup.inhibit == 0
    assert sup.have_reading is False and sup.cc == 0 and sup.disagree_ms == 0
    assert sup.open_ms == 0 and sup.applications == 0
    assert (sup.rest_end_ms, sup.app_start_ms, sup.close_ms) == (1000,) * 3
    for sensor in (sup.s1, sup.s2):
        assert sensor.status == thermistor.OK and sensor.stuck_ms == 0
        assert sensor.have_reading is False and sensor.cc == 0
        assert (sensor.fresh_ms, sensor.ok_ms) == (1000, 1000)
        assert sensor.last_raw < 0  # no reading yet: the first one never counts as unchanged
    assert sup.may_start(1000) is False  # nothing starts before a good reading


def test_a_pen_that_never_gets_a_reading_latches_stale_after_50_ms():
    rig = Rig(boot=False)
    for _ in range(limits.STALE_MS // 10 + 1):  # 0 to 50 ms: not yet more than 50 ms
        assert rig.tick(raw=-1).fault == 0
    out = rig.tick(raw=-1)
    assert out.fault & alarms.F_STALE
    assert is_state(out, "FAULT")


def test_the_first_reading_is_never_judged_stuck_or_too_fast():
    rig = Rig(boot=False)
    out = rig.tick(raw=rig.pen.thermistor.raw_for(-4000))  # still cold from a freeze
    assert out.fault == 0
    assert states.STATE_NAMES[out.state] in ("BOOT", "IDLE")


def fresh(watchdog=True):
    """A supervisor with a good reading, and the watchdog fault already latched."""
    sup = Supervisor(profile(), 0, watchdog)
    both(sup, 10, 10, 30000, thermistor.OK, 2000, 0)
    return sup


def test_a_new_fault_adds_to_the_latched_ones_never_replaces_them():
    cases = (
        (lambda s: both(s, 20, 10, 65535, thermistor.OPEN, 0, 0), alarms.F_OPEN),
        (lambda s: both(s, 20, 10, 0, thermistor.SHORT, 0, 0), alarms.F_SHORT),
        (lambda s: both(s, 20, 10, 64300, thermistor.RANGE, 0, 0), alarms.F_RANGE),
        (lambda s: both(s, 200, 10, -1, thermistor.OK, 0, 0), alarms.F_STALE),
        (lambda s: both(s, 20, 10, 30001, thermistor.OK, -8000, 0), alarms.F_FLOOR),
        (lambda s: both(s, 20, 10, 30001, thermistor.OK, 1000, 0), alarms.F_RATE),
        (lambda s: both(s, 20, 10, 30001, thermistor.OK, 2000, alarms.F_ADC), alarms.F_ADC),
        (lambda s: disagree(s, 20, limits.DISAGREE_CC + 1, limits.DISAGREE_MS), alarms.F_DISAGREE),
    )
    for inject, bit in cases:
        sup = fresh()
        inject(sup)
        assert sup.fault & bit, bit
        assert sup.fault & alarms.F_WATCHDOG, bit  # still latched


def disagree(sup, t0, apart_cc, ms):
    """Sensor 2 reads apart_cc warmer than sensor 1 every 10 ms for ms; returns the time."""
    t = t0
    while t < t0 + ms:
        t += 10
        sup.sense(t, 10, 30000, thermistor.OK, 2000, 29000, thermistor.OK, 2000 + apart_cc, 0)
    return t


def test_sensors_exactly_the_bound_apart_agree_one_centi_degree_more_latches_after_200_ms():
    sup = Supervisor(profile(), 0, False)
    disagree(sup, 0, limits.DISAGREE_CC, 5000)
    assert sup.fault == 0 and sup.disagree_ms == 0
    t = disagree(sup, 5000, limits.DISAGREE_CC + 1, limits.DISAGREE_MS - 10)
    assert sup.fault == 0
    disagree(sup, t, limits.DISAGREE_CC + 1, 10)
    assert sup.fault == alarms.F_DISAGREE


def test_nothing_is_decided_until_both_sensors_have_read():
    sup = Supervisor(profile(), 0, False)
    for t in (10, 20, 30):  # sensor 2 has not answered yet (not yet stale)
        sup.sense(t, 10, 30000, thermistor.OK, 2000, -1, thermistor.OK, 0, 0)
    assert sup.fault == 0 and sup.have_reading is False and not sup.may_start(30)
    sup.sense(40, 10, 30000, thermistor.OK, 2000, 29000, thermistor.OK, 2100, 0)
    assert sup.have_reading and sup.cc == 2000 and sup.may_start(40)


def test_the_supervisor_itself_refuses_a_start_once_cycles_or_session_are_spent():
    # The pen is in DONE by then; the supervisor does not rely on that.
    p = profile()
    sup = fresh(watchdog=False)
    sup.applications = p.cycles - 1
    assert sup.may_start(20) and not sup.session_spent()
    sup.applications = p.cycles
    assert not sup.may_start(20) and sup.session_spent()
    sup = fresh(watchdog=False)
    sup.open_ms = p.session_ms - 1
    assert sup.may_start(20) and not sup.session_spent()
    sup.open_ms = p.session_ms
    assert not sup.may_start(20) and sup.session_spent()


def test_the_floor_itself_is_allowed_one_centi_degree_below_is_not():
    sup = fresh(watchdog=False)
    floor = sup.profile.floor_cc
    sup.s1.cc = sup.s2.cc = floor + 50  # walk there at a plausible rate
    both(sup, 20, 10, 30001, thermistor.OK, floor, 0)
    assert sup.fault == 0
    both(sup, 30, 10, 30002, thermistor.OK, floor - 1, 0)
    assert sup.fault == alarms.F_FLOOR


def held_open(sup, t0, ms, raw=30000, cc=2000):
    """The valve commanded open and the same reading every 10 ms for ms."""
    sup.commanded(t0, True)
    t = t0
    while t < t0 + ms:
        t += 10
        both(sup, t, 10, raw, thermistor.OK, cc, 0)
    return t


def test_stuck_latches_at_exactly_two_seconds_of_open_valve():
    sup = fresh()
    t = held_open(sup, 10, limits.STUCK_MS - 10)
    assert sup.s1.stuck_ms == limits.STUCK_MS - 10
    assert not sup.fault & alarms.F_STUCK
    both(sup, t + 10, 10, 30000, thermistor.OK, 2000, 0)
    assert sup.fault & alarms.F_STUCK and sup.fault & alarms.F_WATCHDOG


def test_a_changed_reading_restarts_the_stuck_count_from_zero():
    sup = fresh()
    t = held_open(sup, 10, 500)
    assert sup.s1.stuck_ms == 500
    both(sup, t + 10, 10, 30002, thermistor.OK, 2000, 0)
    assert sup.s1.stuck_ms == 0


def test_rate_limit_is_200_c_per_s_even_for_two_readings_in_one_ms():
    sup = fresh(watchdog=False)
    both(sup, 10, 0, 30001, thermistor.OK, 2000 - 20, 0)  # 0.2 C within the same ms: allowed
    assert sup.fault == 0
    both(sup, 10, 0, 30002, thermistor.OK, 2000 - 20 - 21, 0)  # 0.21 C: over 200 C/s
    assert sup.fault == alarms.F_RATE


def test_still_cooling_boundaries_three_seconds_and_three_degrees():
    sup = fresh(watchdog=False)
    sup.commanded(100, True)
    sup.commanded(200, False)  # closed at 200 ms with the tip at 20.00 C
    close = sup.close_cc
    sup.cc = close - limits.STILL_COOLING_DROP_CC - 1
    sup.check_cooling(200 + limits.STILL_COOLING_MS - 1, 10, False)
    assert sup.fault == 0  # inside the window: residual cooling is allowed
    sup.cc = close - limits.STILL_COOLING_DROP_CC
    sup.check_cooling(200 + limits.STILL_COOLING_MS, 10, False)
    assert sup.fault == 0  # exactly 3 C down is still allowed
    sup.cc = close - limits.STILL_COOLING_DROP_CC - 1
    sup.check_cooling(200 + limits.STILL_COOLING_MS, 10, False)
    assert sup.fault == alarms.F_STILL_COOLING


def test_a_steady_or_warming_tip_with_the_valve_closed_is_no_leak():
    sup = fresh(watchdog=False)
    for t in range(20, 10000, 10):
        sup.cc += 1
        sup.check_cooling(t, 10, False)
    assert sup.fault == 0


def test_leak_and_stuck_and_rate_add_to_the_latched_faults():
    sup = fresh()
    held_open(sup, 10, limits.STUCK_MS)
    assert sup.fault & alarms.F_STUCK and sup.fault & alarms.F_WATCHDOG
    sup = fresh()
    sup.commanded(20, False)
    sup.cc -= 1000
    sup.check_cooling(20 + limits.STILL_COOLING_MS, 10, False)
    assert sup.fault & alarms.F_STILL_COOLING and sup.fault & alarms.F_WATCHDOG


def treating(prof=None, cc=2000, t=10):
    """A supervisor in an application that started at t, the valve open."""
    sup = Supervisor(prof or profile(), 0, False)
    both(sup, t, 10, 30000, thermistor.OK, cc, 0)
    sup.start(t)
    sup.commanded(t, True)
    return sup


def test_no_cooling_latches_at_exactly_the_window_unless_the_drop_is_met():
    p = profile()  # window 1.5 s, drop 5 C
    sup = treating(p)
    for _ in range(p.cool_window_ms // 10 - 1):
        sup.check_cooling(0, 10, True)
    assert sup.window_open_ms == p.cool_window_ms - 10 and sup.fault == 0
    sup.cc = sup.window_cc - p.cool_drop_cc  # exactly the drop: enough
    sup.check_cooling(0, 10, True)
    assert sup.fault == 0 and sup.window_open_ms == 0
    for _ in range(p.cool_window_ms // 10):
        sup.check_cooling(0, 10, True)  # no drop over the next window
    assert sup.fault == alarms.F_NO_COOLING


def test_near_target_a_pulsing_valve_needs_no_further_drop():
    p = profile()
    for cc in (p.target_cc + 2 * limits.AT_TARGET_CC, p.target_cc, p.target_cc - 300):
        sup = treating(p, cc=cc)
        for _ in range(3 * p.cool_window_ms // 10):
            sup.check_cooling(0, 10, True)
        assert sup.fault == 0, cc
    sup = treating(p, cc=p.target_cc + 2 * limits.AT_TARGET_CC + 1)  # just above the band
    for _ in range(p.cool_window_ms // 10):
        sup.check_cooling(0, 10, True)
    assert sup.fault == alarms.F_NO_COOLING


def test_no_cooling_adds_to_the_latched_faults():
    sup = treating()
    sup.fault = alarms.F_WATCHDOG
    for _ in range(sup.profile.cool_window_ms // 10):
        sup.check_cooling(0, 10, True)
    assert sup.fault == alarms.F_WATCHDOG | alarms.F_NO_COOLING


def test_a_start_is_allowed_exactly_when_the_rest_ends():
    sup = treating()
    sup.end(1000)
    assert not sup.may_start(1000 + sup.profile.rest_ms - 1)
    assert sup.may_start(1000 + sup.profile.rest_ms)


def test_backstop_is_bounded_by_the_session_left_when_that_is_shorter():
    p = profile("moderate", session_s=20)
    sup = treating(p, cc=2000, t=0)
    sup.open_ms = p.session_ms - 700  # 0.7 s of the session left, 20 s of contact
    assert sup.backstop_ms(0) == 700 + limits.BACKSTOP_MARGIN_MS


def test_backstop_thermal_budget_is_whole_milliseconds_rounded_down():
    p = profile("moderate", contact_s=20)
    sup = treating(p, cc=p.floor_cc + 4001, t=0)  # 40.01 C above the floor at 40 C/s
    assert sup.backstop_ms(0) == 1000
    assert type(sup.backstop_ms(0)) is int


def test_a_fault_clears_on_a_reading_50_ms_old_but_not_51():
    sup = fresh()  # reading at 10 ms
    assert not sup.clearable(61)
    assert sup.clearable(60)


def test_an_unchanged_reading_blocks_the_reset_only_after_a_stuck_fault():
    sup = fresh(watchdog=False)
    held_open(sup, 10, 500)  # unchanged for 0.5 s: no fault yet
    sup.commanded(510, False)
    both(sup, 520, 10, 30000, thermistor.OK, 2000, alarms.F_ADC)
    assert sup.fault == alarms.F_ADC and sup.s1.stuck_ms > 0
    both(sup, 530, 10, 30000, thermistor.OK, 2000, 0)
    assert sup.clear_faults(530)


def test_the_first_good_reading_after_a_long_gap_is_no_rate_fault():
    sup = fresh(watchdog=False)
    both(sup, 70000, 10, 30001, thermistor.OK, -4000, 0)  # 60 C colder, 70 s later
    assert sup.fault == 0
