"""Every fault closes the valve on the tick it is seen and latches until a reset."""
from firmware import alarms, gauge, limits, signals, states
from tests.core.pen_rig import Rig, flows, is_state, profile


def treating_rig(**changes):
    rig = Rig(profile("moderate", **changes))
    rig.press()
    rig.run_ms(300)
    assert rig.out.valve
    return rig


def assert_closed_and_latched(out, bit):
    assert out.valve is False
    assert out.master is False
    assert is_state(out, "FAULT")
    assert out.fault & bit


def test_open_thermistor_closes_on_that_tick_and_latches_until_reset():
    rig = treating_rig()
    out = rig.tick(raw=65535)
    assert_closed_and_latched(out, alarms.F_OPEN)
    rig.run_ms(500)  # condition gone
    assert is_state(rig.out, "FAULT")
    rig.release()
    assert rig.press().valve is False
    assert rig.pen.reset(rig.t)
    rig.release()
    rig.run_ms(6000)
    assert rig.press().valve


def test_reset_is_refused_while_the_condition_persists():
    rig = treating_rig()
    rig.tick(raw=65535)
    assert rig.pen.reset(rig.t) is False
    assert is_state(rig.tick(raw=65535), "FAULT")


def test_a_stuck_reading_cannot_be_reset_until_it_moves():
    rig = treating_rig()
    raw = rig.raw()
    while not rig.out.fault:
        rig.tick(raw=raw)
    rig.trigger = False
    rig.tick(raw=raw)
    assert rig.pen.reset(rig.t) is False
    rig.tick(raw=raw + 16)  # one 12-bit count: the sensor is alive again
    assert rig.pen.reset(rig.t)


def test_a_stale_sensor_cannot_be_reset_without_a_fresh_reading():
    rig = treating_rig()
    for _ in range(10):
        rig.tick(raw=-1)
    assert rig.out.fault & alarms.F_STALE
    assert rig.pen.reset(rig.t) is False
    rig.tick()
    assert rig.pen.reset(rig.t)


def test_short_thermistor():
    rig = treating_rig()
    assert_closed_and_latched(rig.tick(raw=0), alarms.F_SHORT)


def test_reading_out_of_range():
    rig = treating_rig()
    raw = rig.pen.thermistor.raw_for(limits.READ_MIN_CC - 300)
    assert_closed_and_latched(rig.tick(raw=raw), alarms.F_RANGE)


def test_stale_reading_latches_after_50_ms():
    rig = treating_rig()
    for _ in range(limits.STALE_MS // 10):
        assert is_state(rig.tick(raw=-1), "TREATING")
        assert not rig.out.fault & alarms.F_STALE
    assert_closed_and_latched(rig.tick(raw=-1), alarms.F_STALE)


def test_adc_error_from_the_hal():
    rig = treating_rig()
    rig.hw = alarms.F_ADC
    assert_closed_and_latched(rig.tick(raw=-1), alarms.F_ADC)


def test_backstop_report_from_the_hal_latches():
    rig = treating_rig()
    rig.hw = alarms.F_BACKSTOP
    assert_closed_and_latched(rig.tick(), alarms.F_BACKSTOP)


def test_stuck_reading_with_valve_open_latches_within_two_seconds():
    rig = treating_rig()
    raw = rig.raw()
    ticks = 0
    while not rig.out.fault and ticks < 300:
        rig.tick(raw=raw)
        ticks += 1
    assert_closed_and_latched(rig.out, alarms.F_STUCK)
    assert ticks * 10 <= limits.STUCK_MS + 20


def test_implausible_rate_of_change():
    rig = treating_rig()
    jump = rig.pen.thermistor.raw_for(rig.pen.sup.cc - 500)  # 5 C in one tick: 500 C/s
    assert_closed_and_latched(rig.tick(raw=jump), alarms.F_RATE)


def test_below_floor():
    rig = treating_rig()
    cc = rig.pen.sup.cc
    steps = 0
    while not rig.out.fault and steps < 1000:  # walk down at a plausible 100 C/s
        cc -= 100
        rig.tick(raw=rig.pen.thermistor.raw_for(cc))
        steps += 1
    assert_closed_and_latched(rig.out, alarms.F_FLOOR)
    assert rig.pen.sup.cc < rig.prof.floor_cc
    assert rig.pen.sup.cc > rig.prof.floor_cc - 200


def test_valve_open_without_cooling():
    rig = Rig(profile("moderate"))
    rig.cooling = False  # empty cartridge, tilted pen or blocked nozzle
    rig.press()
    opened = rig.run_ms(3000)
    assert_closed_and_latched(rig.out, alarms.F_NO_COOLING)
    assert len(opened) * 10 <= rig.prof.cool_window_ms + 10


def test_still_cooling_after_close_is_a_leaking_valve():
    rig = Rig(profile("moderate"))
    rig.leak = True  # flow with the valve commanded closed
    rig.run_ms(limits.STILL_COOLING_MS + 2000)
    assert_closed_and_latched(rig.out, alarms.F_STILL_COOLING)
    assert alarms.priority(rig.out.alarm) == alarms.HIGH


def test_exception_in_a_tick_closes_latches_and_counts():
    rig = treating_rig()

    class Broken:
        cc = 0

        def read(self, raw):
            raise ValueError("converter exploded")

    raw = rig.raw()
    good = rig.pen.thermistor
    rig.pen.thermistor = Broken()
    out = rig.tick(raw=raw, raw2=rig.raw2())
    assert_closed_and_latched(out, alarms.F_EXCEPTION)
    assert out.healthy is False
    assert rig.pen.exceptions == 1
    rig.pen.thermistor = good
    rig.run_ms(limits.STILL_COOLING_MS + 1000)
    assert rig.out.fault == alarms.F_EXCEPTION  # the close was recorded: no false leak alarm
    assert rig.out.healthy


def test_worst_alarm_is_reported():
    rig = treating_rig()
    rig.hw = alarms.F_LOW_BATTERY
    rig.tick()
    assert alarms.name_of(rig.out.alarm) == "low_battery"
    out = rig.tick(raw=65535)
    assert alarms.name_of(out.alarm) == "thermistor_open"


def test_sensors_that_disagree_latch_after_the_window():
    rig = Rig(boot=False)
    rig.offset2_cc = limits.DISAGREE_CC + 1  # sensor 2 reads warm from the first reading
    for _ in range(limits.DISAGREE_MS // 10):  # the first tick counts no time
        assert rig.tick().fault == 0
    out = rig.tick()  # DISAGREE_MS after the first reading
    assert out.fault == alarms.F_DISAGREE and is_state(out, "FAULT")
    rig.tick()
    assert not rig.pen.reset(rig.t)  # still apart: the reset is refused
    rig.offset2_cc = 0
    rig.tick()
    assert rig.pen.reset(rig.t)  # agreeing again: it clears


def test_sensors_within_the_bound_never_latch():
    rig = Rig(boot=False)
    rig.offset2_cc = limits.DISAGREE_CC - 5
    rig.tick()
    rig.press()
    rig.run_ms(20000)
    assert rig.out.fault == 0 and rig.pen.sup.applications == 1


def test_the_colder_sensor_rules():
    for warm_first in (True, False):
        rig = treating_rig()
        cold = rig.tip_cc - 300
        raw1 = rig.pen.thermistor.raw_for(rig.tip_cc if warm_first else cold)
        raw2 = rig.pen.thermistor2.raw_for(cold if warm_first else rig.tip_cc)
        out = rig.tick(raw=raw1, raw2=raw2)
        assert abs(out.temp_cc - cold) <= 2, warm_first  # table interpolation
        assert out.temp_cc == min(out.temp1_cc, out.temp2_cc)


def ended_rig(**stuck):
    """An application run and released; the rig's valves stuck as told from then on."""
    rig = treating_rig()
    rig.release()
    for name, value in stuck.items():
        setattr(rig, name, value)
    return rig


def test_proving_passes_on_healthy_valves_and_holds_the_rest():
    rig = ended_rig()
    seen = []
    for _ in range(limits.PROVE_AFTER_MS // 10 + 2 * limits.PROVE_STEP_MS // 10 + 10):
        out = rig.tick()
        assert not flows(out)  # never both at once
        seen.append((out.valve, out.master))
    assert seen.count((True, False)) * 10 == limits.PROVE_OPEN_MS  # the main valve alone
    assert seen.count((False, True)) * 10 == limits.PROVE_OPEN_MS  # then the second alone
    assert seen.index((True, False)) < seen.index((False, True))
    assert seen.index((True, False)) * 10 >= limits.PROVE_AFTER_MS - 20
    assert rig.out.fault == 0 and rig.pen.prove_step == 0


def run_proving(rig):
    for _ in range(limits.PROVE_AFTER_MS // 10 + 2 * limits.PROVE_STEP_MS // 10 + 10):
        rig.tick()
    return rig.out


def test_proving_finds_a_second_valve_that_leaks():
    out = run_proving(ended_rig(second_stuck=True))
    assert_closed_and_latched(out, alarms.F_MASTER_LEAK)


def test_proving_finds_a_main_valve_that_leaks():
    out = run_proving(ended_rig(main_stuck=True))
    assert_closed_and_latched(out, alarms.F_STILL_COOLING)


def test_a_reset_fault_is_proved_again_before_the_next_application():
    rig = treating_rig()
    rig.tick(raw=65535)
    rig.release()
    rig.run_ms(500)
    assert rig.pen.reset(rig.t)
    rig.second_stuck = True
    out = run_proving(rig)
    assert_closed_and_latched(out, alarms.F_MASTER_LEAK)


def test_a_leaking_second_valve_is_not_cleared_by_a_reset():
    rig = ended_rig(second_stuck=True)
    run_proving(rig)
    rig.run_ms(500)
    assert not rig.pen.reset(rig.t)  # service: each retry would pass gas through it
    assert_closed_and_latched(rig.tick(), alarms.F_MASTER_LEAK)


class Broken:
    """Sensor 1's conversion, raising; the rig still reads the tip through it."""
    cc = 0

    def __init__(self, good):
        self.raw_for = good.raw_for

    def read(self, raw):
        raise ValueError("converter exploded")


def test_an_exception_while_treating_ends_the_application_as_a_fault_on_that_tick():
    rig = treating_rig()
    good = rig.pen.thermistor
    rig.pen.thermistor = Broken(good)
    out = rig.tick()
    assert out.end_reason == states.END_FAULT
    assert out.alarm == alarms.worst(alarms.F_EXCEPTION)  # on that tick, not the next
    out = rig.tick()
    assert rig.pen.exceptions == 2  # each one counts
    rig.pen.thermistor = good
    assert rig.pen.reset(rig.t)  # before the next tick: the pen is in FAULT already


def test_an_exception_outside_an_application_ends_none_and_counts_no_gas():
    rig = Rig()
    good = rig.pen.thermistor
    rig.pen.thermistor = Broken(good)
    out = rig.tick()
    assert out.fault & alarms.F_EXCEPTION and out.end_reason == states.END_NONE
    rig.pen.thermistor = good
    rig.run_ms(1000)
    assert rig.pen.sup.open_ms == 0


def test_an_exception_adds_to_the_latched_faults():
    rig = Rig(watchdog_reset=True)
    rig.pen.thermistor = Broken(rig.pen.thermistor)
    out = rig.tick()
    assert out.fault & alarms.F_EXCEPTION and out.fault & alarms.F_WATCHDOG


def test_a_reset_that_cannot_clear_is_silent_in_fault_and_refused_elsewhere():
    rig = Rig()
    assert rig.pen.reset(rig.t) is False
    assert rig.tick().beep == signals.BEEP_REFUSED
    rig.run_ms(1000)
    rig.tick(raw=65535)  # open: FAULT, and the condition persists
    assert rig.pen.reset(rig.t) is False
    assert rig.tick(raw=65535).beep != signals.BEEP_REFUSED  # the alarm speaks instead


def test_a_trigger_held_through_a_reset_must_be_released_before_it_counts():
    rig = treating_rig(rest_s=5)
    rig.tick(raw=65535)
    assert is_state(rig.out, "FAULT")
    rig.run_ms(100)  # still held
    assert rig.pen.reset(rig.t)
    assert rig.tick().beep != signals.BEEP_REFUSED  # held through the reset: no new press
    assert not rig.run_ms(6000)  # proving and rest over, the press still held
    rig.release()
    assert flows(rig.press())


def test_a_dead_short_on_either_sensor_alone_latches():
    for one in (1, 2):
        rig = treating_rig()
        raw, raw2 = (0, rig.raw2()) if one == 1 else (rig.raw(), 0)
        assert_closed_and_latched(rig.tick(raw=raw, raw2=raw2), alarms.F_SHORT)


def test_a_fault_ends_an_application_as_a_fault_and_outside_one_ends_nothing():
    rig = treating_rig()
    assert rig.tick(raw=65535).end_reason == states.END_FAULT
    rig = Rig()
    assert rig.tick(raw=65535).end_reason == states.END_NONE


def test_a_late_tick_past_the_session_cap_ends_in_done_and_the_valves_are_proved_there():
    rig = Rig(profile("aftercare", contact_s=2, session_s=3))
    rig.ramp = (4, 0)  # cooling 4 C/s while gas flows, never at target: the valve open throughout
    rig.press()
    rig.run_ms(2000)  # the contact limit: 2 s of the session's 3 s
    rig.release()
    rig.run_ms(6000)
    rig.press()
    rig.run_ms(990)
    rig.t += 5  # a tick 5 ms late: past the cap
    rig.run_ms(20)
    out = rig.out
    assert rig.pen.sup.open_ms > rig.prof.session_ms
    assert is_state(out, "DONE") and out.end_reason == states.END_SESSION and out.fault == 0
    rig.ramp = None  # straight from TREATING into DONE: the valves are proved there
    rig.second_stuck = True
    assert_closed_and_latched(run_proving(rig), alarms.F_MASTER_LEAK)


def test_a_fault_during_a_proving_step_closes_the_valve_on_that_tick():
    rig = ended_rig()
    for _ in range(limits.PROVE_AFTER_MS // 10 + 10):
        if rig.tick().valve:  # the main valve open alone
            break
    assert rig.out.valve and not rig.out.master
    assert_closed_and_latched(rig.tick(raw=65535), alarms.F_OPEN)


def test_a_gas_warning_never_hides_a_fault():
    rig = Rig()
    rig.pen.gauge.restore(gauge.UNKNOWN)  # a cartridge not known: the pen warns of low gas
    assert alarms.name_of(rig.tick().alarm) == "low_gas"
    out = rig.tick(raw=65535)
    assert alarms.name_of(out.alarm) == "thermistor_open" and out.fault & alarms.F_OPEN


def test_each_new_cartridge_counts_and_none_is_taken_on_the_tick_of_a_fault():
    rig = Rig()
    for n in (1, 2):
        assert rig.pen.new_cartridge(rig.t)
        rig.tick()
        assert rig.pen.cartridges == n
    assert rig.pen.new_cartridge(rig.t)
    rig.tick(raw=65535)  # the same tick the sensor opens: the pen is in FAULT
    assert rig.pen.cartridges == 2
