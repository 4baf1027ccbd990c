"""What the pen publishes: its outputs before and on its first tick, while it treats
and while it proves the valves; and the faults it boots with."""
from boards.sim import board
from firmware import alarms, limits, pen as pen_mod, signals, states, thermistor
from firmware.regulator import Regulator
from tests.core.pen_rig import Rig, is_state, profile


def test_before_its_first_tick_a_pen_publishes_closed_quiet_outputs():
    # The shell may read them before the first tick: it checks the alarm, and a HAL
    # that raises on the first tick leaves every output fail_closed() does not set.
    rig = Rig(boot=False)
    out = rig.pen.out
    assert out.valve is False and out.master is False and out.backstop_ms == 0
    assert out.state == states.BOOT and out.fault == 0 and out.alarm == 0
    assert out.beep == 0 and out.tone_hz == 0 and out.led is False
    assert (out.temp_cc, out.temp1_cc, out.temp2_cc, out.duty) == (0, 0, 0, 0)
    assert out.target_cc == rig.prof.target_cc
    assert out.end_reason == states.END_NONE and out.applications == 0
    assert out.healthy is True


def test_the_first_tick_is_quiet_and_a_sensor_open_from_power_up_shows_at_once():
    rig = Rig(boot=False)
    out = rig.tick()
    assert out.tone_hz == 0 and out.beep == 0 and out.alarm == 0
    rig = Rig(boot=False)
    out = rig.tick(raw=65535)
    assert is_state(out, "FAULT") and out.alarm == alarms.worst(alarms.F_OPEN)


def test_a_failed_backstop_self_test_boots_into_fault_with_any_watchdog_reset():
    for watchdog in (False, True):
        pen = pen_mod.build(board, profile(), 0, watchdog, True)
        out = pen.tick(0, pen.thermistor.raw_for(2500), pen.thermistor2.raw_for(2500), False, 0)
        assert is_state(out, "FAULT") and out.fault & alarms.F_BACKSTOP, watchdog
        assert bool(out.fault & alarms.F_WATCHDOG) == watchdog


def test_a_pen_given_only_its_parts_is_a_healthy_pen():
    th1, th2 = thermistor.from_board(board), thermistor.from_board(board, True)
    reg = Regulator(board.REG_KP, board.REG_KI, board.REG_FF, board.VALVE_MIN_ON_MS,
                    board.VALVE_MIN_OFF_MS)
    pen = pen_mod.Pen(profile(), th1, th2, reg)
    out = pen.tick(10, th1.raw_for(2500), th2.raw_for(2500), False, 0)
    assert is_state(out, "IDLE") and out.fault == 0


def test_with_one_profile_the_mode_button_is_refused():
    rig = Rig()
    assert rig.pen.next_profile(rig.t) is False
    assert rig.tick().beep == signals.BEEP_REFUSED and rig.pen.profile is rig.prof


def test_duty_and_applications_are_published_while_treating_and_after():
    rig = Rig(profile("aftercare", rest_s=5))
    rig.press()
    duties = []
    for _ in range(100):
        out = rig.tick()
        assert out.duty == rig.pen.regulator.duty and out.applications == 1
        duties.append(out.duty)
    assert max(duties) > 0
    out = rig.release()
    assert out.duty == 0 and out.applications == 1
    rig.run_ms(100)
    assert rig.out.duty == 0


def test_a_proving_step_arms_the_backstop_for_its_opening_plus_the_margin():
    rig = Rig(profile("aftercare", rest_s=5))
    rig.press()
    rig.run_ms(500)
    rig.release()
    backstops = set()
    for _ in range(limits.PROVE_AFTER_MS // 10 + 2 * limits.PROVE_STEP_MS // 10):
        out = rig.tick()
        if out.valve:
            backstops.add(out.backstop_ms)
    assert backstops == {limits.PROVE_OPEN_MS + limits.BACKSTOP_MARGIN_MS}


def beeps_until_the_end(rig):
    """(ms into the application, beep) per tick from a press to the application's end."""
    rig.press()
    start = rig.t - 10
    seen = []
    while is_state(rig.out, "TREATING"):
        seen.append((rig.t - 10 - start, rig.out.beep))
        rig.tick()
    return seen, rig.out.end_reason


def test_the_near_end_signal_sounds_in_the_last_second_before_the_contact_limit():
    rig = Rig(profile("aftercare", contact_s=3))
    seen, end = beeps_until_the_end(rig)
    assert end == states.END_CONTACT
    near = [t for t, beep in seen if beep == signals.BEEP_NEAR]
    assert near[0] == rig.prof.contact_ms - signals.NEAR_END_MS and near[-1] == seen[-1][0]
    assert {beep for t, beep in seen if t < near[0]} == {signals.BEEP_SECOND}


def test_the_near_end_signal_sounds_in_the_last_second_of_the_hold():
    rig = Rig(profile("short", hold_s=2))  # 2 s hold from reaching target, 15 s contact
    seen, end = beeps_until_the_end(rig)
    assert end == states.END_COMPLETE
    near = [t for t, beep in seen if beep == signals.BEEP_NEAR]
    assert near and near[-1] == seen[-1][0] and near[-1] - near[0] == signals.NEAR_END_MS - 10


def test_a_refused_press_sounds_for_exactly_the_refusal_tone():
    rig = Rig()
    assert rig.pen.reset(rig.t) is False  # in IDLE: refused
    beeps = [rig.tick().beep for _ in range(signals.REFUSED_MS // 10 + 3)]
    assert beeps == [signals.BEEP_REFUSED] * (signals.REFUSED_MS // 10) + [signals.BEEP_NONE] * 3


def test_the_led_is_driven_on_or_off_every_tick():
    rig = Rig(profile("aftercare", rest_s=5))
    rig.press()
    rig.run_ms(500)
    rig.release()
    for _ in range(150):
        led = rig.tick().led
        assert led is True or led is False
