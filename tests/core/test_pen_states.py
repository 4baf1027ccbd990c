"""The pen's state machine: dead-man trigger, cutoffs, lockout, session and reset."""
from firmware import signals, alarms, gauge, limits, states
from firmware.compat import TICKS_PERIOD
from tests.core.pen_rig import Rig, is_state, profile, flows


def test_valve_closed_on_the_first_tick():
    rig = Rig(boot=False)
    out = rig.tick()
    assert out.valve is False
    assert out.master is False


def test_fresh_press_opens_the_valve_on_that_tick():
    rig = Rig()
    rig.run_ms(100)
    out = rig.press()
    assert is_state(out, "TREATING")
    assert out.valve


def test_trigger_held_from_boot_does_not_open_until_pressed_again():
    rig = Rig(boot=False)
    rig.trigger = True
    assert rig.run_ms(2000) == []
    rig.release()
    assert rig.press().valve


def test_release_closes_the_valve_on_that_tick_and_starts_the_rest():
    rig = Rig()
    rig.run_ms(50)
    rig.press()
    rig.run_ms(500)
    out = rig.release()
    assert out.valve is False
    assert is_state(out, "LOCKOUT")
    assert states.END_NAMES[out.end_reason] == "released"


def test_contact_limit_ends_the_application_at_exactly_the_limit():
    rig = Rig(profile("aftercare", contact_s=10))
    rig.run_ms(100)
    start = rig.t
    rig.trigger = True
    assert rig.tick().valve
    while is_state(rig.out, "TREATING"):
        rig.tick()
    ended = rig.t - 10
    assert ended - start == 10000
    assert states.END_NAMES[rig.out.end_reason] == "contact_limit"
    assert rig.out.valve is False
    assert rig.run_ms(100000) == []  # held for the rest of 120 s: stays closed


def test_after_a_cutoff_the_trigger_must_be_released_and_pressed_again():
    rig = Rig(profile("aftercare", contact_s=10, rest_s=5))
    rig.trigger = True
    rig.run_ms(30000)
    assert rig.run_ms(5000) == []
    rig.release()
    rig.run_ms(100)
    assert rig.press().valve


def test_press_during_rest_is_refused_and_needs_a_new_press():
    rig = Rig(profile("aftercare", rest_s=5))
    rig.press()
    rig.run_ms(1000)
    rig.release()
    rig.run_ms(1000)
    assert not flows(rig.press())
    assert rig.run_ms(6000) == []  # still held after the rest ended: no opening
    rig.release()
    assert rig.press().valve


def test_hold_time_counts_from_reaching_target():
    rig = Rig(profile("short"))
    rig.trigger = True
    rig.run_ms(14000)
    assert states.END_NAMES[rig.out.end_reason] == "complete"
    assert rig.pen.target_ms > 0
    assert rig.pen.sup.rest_end_ms - rig.prof.rest_ms - rig.pen.target_ms >= rig.prof.hold_ms


def test_cycles_end_the_session_until_a_new_session_is_asked_for():
    rig = Rig(profile("aftercare", contact_s=3, rest_s=5, cycles=2))
    for _ in range(2):
        assert rig.press().valve  # both applications of the session run
        rig.run_ms(3500)
        rig.release()
        rig.run_ms(5100)
    assert is_state(rig.out, "DONE")
    assert not flows(rig.press())
    assert rig.out.beep == signals.BEEP_REFUSED  # the refused press sounds
    rig.release()
    assert rig.pen.reset(rig.t) is False  # reset has one job: faults
    assert is_state(rig.tick(), "DONE")
    assert rig.pen.new_session(rig.t)  # the mode button's long press
    assert is_state(rig.tick(), "IDLE") and rig.pen.session == 2
    assert rig.pen.sup.applications == 0
    assert rig.press().valve


def test_a_new_session_is_refused_during_a_rest_and_while_treating():
    rig = Rig(profile("aftercare", contact_s=3, rest_s=5, cycles=2))
    rig.press()
    assert rig.pen.new_session(rig.t) is False  # treating
    rig.run_ms(500)
    rig.release()
    assert rig.pen.new_session(rig.t) is False  # resting
    assert rig.tick().beep == signals.BEEP_REFUSED
    assert rig.pen.session == 1 and rig.pen.sup.applications == 1


def test_the_tick_that_starts_a_session_starts_no_application():
    rig = Rig(profile("aftercare"))
    assert rig.pen.new_session(rig.t)
    assert not rig.press().valve  # the journal stores the new session first
    rig.release()
    assert rig.press().valve


def test_the_mode_button_steps_through_the_enabled_profiles_in_idle_only():
    short = profile("short")
    after = profile("aftercare")
    rig = Rig(after)
    rig.pen.offer((after, short), 0)
    assert rig.pen.next_profile(rig.t) and rig.pen.profile is short
    assert rig.tick().target_cc == short.target_cc
    rig.press()
    assert rig.pen.next_profile(rig.t) is False and rig.pen.profile is short  # treating
    rig.run_ms(300)
    rig.release()
    assert rig.pen.next_profile(rig.t) is False  # resting
    assert rig.pen.profile is short


def test_session_cap_ends_the_session_at_exactly_the_cap():
    prof = profile("moderate", target_c=-88, floor_c=-92, hold_s=0, contact_s=10, rest_s=5,
                   session_s=15)
    rig = Rig(prof)
    rig.ramp = (5, 10)  # 5 C/s down while open: the tip never reaches target
    rig.trigger = True
    opened = rig.run_ms(11000)
    assert len(opened) * 10 == 10000
    assert states.END_NAMES[rig.out.end_reason] == "contact_limit"
    rig.release()
    rig.run_ms(5000)
    rig.trigger = True
    opened += rig.run_ms(8000)
    assert len(opened) * 10 == 15000  # the cap, to the tick
    assert states.END_NAMES[rig.out.end_reason] == "session_cap"
    assert is_state(rig.out, "DONE")
    rig.release()
    assert not flows(rig.press())


def test_reset_after_a_fault_keeps_the_rest_running():
    rig = Rig(profile("aftercare", rest_s=30))
    rig.press()
    rig.run_ms(500)
    rig.tick(raw=65535)  # open sensor: the application ends in FAULT
    rig.release()
    rig.run_ms(100)
    assert rig.pen.reset(rig.t)
    rig.run_ms(100)
    assert rig.press().valve is False  # well inside the 30 s rest
    rig.release()
    rig.run_ms(30000)
    assert rig.press().valve


def test_reset_outside_fault_and_done_changes_nothing():
    rig = Rig(profile("aftercare", cycles=2))
    rig.press()
    rig.run_ms(500)
    rig.release()
    assert rig.pen.reset(rig.t) is False  # in LOCKOUT: the session goes on
    assert rig.pen.sup.applications == 1
    rig.run_ms(6000)
    assert rig.pen.reset(rig.t) is False  # in IDLE too
    assert rig.pen.sup.applications == 1


def test_after_a_watchdog_reset_the_rest_runs_before_a_new_application():
    rig = Rig(profile("ftf"), watchdog_reset=True)  # 30 s thaw
    rig.run_ms(100)
    assert rig.pen.reset(rig.t)
    rig.run_ms(100)
    assert not flows(rig.press())
    rig.release()
    rig.run_ms(30000)
    assert rig.press().valve


def test_reset_is_ignored_while_treating():
    rig = Rig()
    rig.press()
    assert rig.pen.reset(rig.t) is False
    assert rig.tick().valve


def test_watchdog_reset_at_boot_starts_in_fault():
    rig = Rig(watchdog_reset=True, boot=False)
    out = rig.tick()
    assert is_state(out, "FAULT")
    assert out.fault & alarms.F_WATCHDOG
    rig.release()
    assert not flows(rig.press())


def test_low_battery_blocks_a_new_application_but_lets_one_finish():
    rig = Rig(profile("aftercare", contact_s=5))
    rig.press()
    rig.hw = alarms.F_LOW_BATTERY
    opened = rig.run_ms(3000)
    assert is_state(rig.out, "TREATING")
    assert opened
    rig.release()
    rig.run_ms(6000)
    assert not flows(rig.press())
    assert alarms.name_of(rig.out.alarm) == "low_battery"


def test_backstop_covers_the_remaining_contact_time_plus_margin():
    rig = Rig(profile("moderate", contact_s=1, hold_s=0, cool_window_s=1))
    out = rig.press()
    assert out.valve
    assert out.backstop_ms == 1000 + limits.BACKSTOP_MARGIN_MS
    rig.run_ms(400)
    assert rig.pen.sup.backstop_ms(rig.t) == 600 - 10 + limits.BACKSTOP_MARGIN_MS


def test_backstop_never_outlasts_the_time_to_reach_the_floor():
    rig = Rig(profile("aftercare"))
    out = rig.press()
    margin_cc = rig.pen.sup.cc - rig.prof.floor_cc
    assert out.backstop_ms == margin_cc * 1000 // limits.MAX_COOL_CC_PER_S
    assert out.backstop_ms < 1000
    rig.pen.sup.cc = rig.prof.floor_cc + 1  # at the floor: never below two ticks
    assert rig.pen.sup.backstop_ms(rig.t) == limits.BACKSTOP_MIN_MS


def test_contact_limit_holds_across_the_tick_counter_wrap():
    start = TICKS_PERIOD - 3000
    rig = Rig(profile("aftercare", contact_s=10), start_ms=start)
    rig.trigger = True
    opened = rig.run_ms(20000)
    assert opened
    assert len(opened) * 10 <= 10000
    assert states.END_NAMES[rig.out.end_reason] == "contact_limit"


def test_master_valve_is_open_only_while_treating():
    rig = Rig()
    assert rig.tick().master is False
    assert rig.press().master
    rig.release()
    assert rig.out.master is False


def test_a_board_outside_the_limits_is_refused():
    from boards.sim import board
    from firmware import pen as pen_mod

    class FastValve:
        pass

    for name in dir(board):
        setattr(FastValve, name, getattr(board, name))
    FastValve.VALVE_MIN_ON_MS = limits.VALVE_MIN_PULSE_MS - 1
    try:
        pen_mod.build(FastValve, profile())
    except pen_mod.BoardError as e:
        assert "VALVE_MIN_ON_MS" in str(e)
    else:
        assert False, "a 9 ms valve pulse was accepted"


def test_a_stray_tap_owes_no_rest_and_is_no_application():
    rig = Rig(profile("moderate"))
    rig.ramp = (10, 0)  # 0.1 C per tick while gas flows: a tap cools the tip by < 2 C
    rig.press()
    rig.run_ms(100)
    out = rig.release()
    assert states.END_NAMES[out.end_reason] == "tap" and is_state(out, "IDLE")
    assert rig.pen.sup.applications == 0 and rig.pen.sup.open_ms > 0
    rig.tick()
    assert rig.press().valve  # no rest owed


def test_a_short_press_that_cooled_the_tip_is_an_application_with_its_rest():
    rig = Rig(profile("moderate"))
    rig.ramp = (50, 0)  # 0.5 C per tick: 2 C within 40 ms
    rig.press()
    rig.run_ms(100)
    out = rig.release()
    assert states.END_NAMES[out.end_reason] == "released" and is_state(out, "LOCKOUT")
    assert rig.pen.sup.applications == 1


def test_a_long_press_that_barely_cooled_is_an_application():
    rig = Rig(profile("moderate"))
    rig.ramp = (1, 0)
    rig.press()
    rig.run_ms(600)  # past STRAY_TAP_MS
    out = rig.release()
    assert states.END_NAMES[out.end_reason] == "released" and is_state(out, "LOCKOUT")


def test_stray_taps_in_a_row_cannot_add_up_to_a_freeze_without_rest():
    rig = Rig(profile("moderate"))
    rig.ramp = (10, 0)  # 0.1 C per tick while gas flows, no warming in between
    ends = []
    for _ in range(4):
        rig.press()
        rig.run_ms(80)  # about 0.8 C each
        ends.append(states.END_NAMES[rig.release().end_reason])
        rig.tick()
    assert ends[0] == ends[1] == "tap"
    assert "released" in ends  # once 2 C below the rested tip, it is an application
    assert rig.pen.sup.applications == 1 and is_state(rig.out, "LOCKOUT")


def test_the_mode_button_steps_through_the_profiles_in_their_order_and_round():
    choices = (profile("aftercare"), profile("short"), profile("long"))
    rig = Rig(choices[0])
    rig.pen.offer(choices, 0)
    seen = []
    for _ in range(4):
        assert rig.pen.next_profile(rig.t)
        rig.tick()
        seen.append(rig.pen.profile)
    assert seen == [choices[1], choices[2], choices[0], choices[1]]


def test_the_profile_the_mode_button_chose_sets_the_limits_the_pen_enforces():
    first, brief = profile("aftercare"), profile("aftercare", contact_s=3)
    rig = Rig(first)
    rig.pen.offer((first, brief), 0)
    assert rig.pen.next_profile(rig.t)
    rig.tick()
    rig.press()
    opened = rig.run_ms(5000)
    assert opened and (opened[-1] - opened[0]) < brief.contact_ms
    assert rig.out.end_reason == states.END_CONTACT


def test_the_pen_is_ready_on_the_tick_its_rest_ends():
    rig = Rig(profile("aftercare", rest_s=5))
    rig.press()
    rig.run_ms(500)
    end = rig.t
    rig.release()
    rig.run_ms(rig.prof.rest_ms - 10)
    assert rig.t == end + rig.prof.rest_ms and is_state(rig.out, "LOCKOUT")
    assert is_state(rig.tick(), "IDLE")


def test_a_clock_that_steps_back_counts_no_valve_open_time():
    rig = Rig()
    rig.press()
    rig.run_ms(300)
    open_ms = rig.pen.sup.open_ms
    rig.t -= 50
    out = rig.tick()
    assert rig.pen.sup.open_ms == open_ms and not out.fault & alarms.F_EXCEPTION


def test_the_pen_leaves_boot_once_it_has_a_reading_and_the_trigger_was_released():
    rig = Rig(boot=False)
    rig.trigger = True
    rig.run_ms(200)
    assert is_state(rig.out, "BOOT")  # read, but held from power-up
    rig = Rig(boot=False)
    rig.tick(raw2=-1)  # released, but sensor 2 has not read yet
    assert is_state(rig.out, "BOOT")
    assert is_state(rig.tick(), "IDLE")


def test_a_press_that_cannot_start_sounds_once_and_only_in_a_rest_or_when_done():
    rig = Rig(profile("aftercare", rest_s=5, cycles=2))
    rig.press()
    rig.run_ms(500)
    rig.release()
    rig.tick()
    assert rig.press().beep == signals.BEEP_REFUSED  # a rest
    rig.run_ms(signals.REFUSED_MS)
    assert rig.tick().beep != signals.BEEP_REFUSED  # held on: once is enough
    rig = Rig()
    rig.tick(raw=65535)
    rig.release()
    assert is_state(rig.press(), "FAULT") and rig.tick().beep != signals.BEEP_REFUSED


def test_end_reason_is_blank_during_an_application():
    rig = Rig(profile("aftercare", rest_s=5))
    rig.press()
    rig.run_ms(500)
    assert rig.release().end_reason == states.END_RELEASED
    rig.run_ms(6000)
    assert rig.press().end_reason == states.END_NONE


def test_after_a_power_cut_the_session_goes_on_with_a_full_rest_and_proved_valves():
    rig = Rig(profile("aftercare", rest_s=5, cycles=3))
    rig.pen.resume(rig.t, 4, 2, 7000)
    assert rig.pen.session == 4 and rig.pen.sup.applications == 2
    assert rig.pen.sup.open_ms == 7000
    assert is_state(rig.tick(), "LOCKOUT")
    rig.second_stuck = True  # proved before the next application
    rig.run_ms(5000)
    assert rig.out.fault & alarms.F_MASTER_LEAK


def test_after_a_power_cut_the_rest_runs_and_then_the_session_goes_on():
    rig = Rig(profile("aftercare", rest_s=5, cycles=3))
    rig.pen.resume(rig.t, 1, 2, 7000)
    rig.press()
    assert rig.run_ms(4900) == []
    rig.release()
    rig.run_ms(200)
    assert flows(rig.press())
    rig.release()
    rig.run_ms(6000)
    assert is_state(rig.out, "DONE")  # its third application was the session's last


def test_a_power_cut_after_a_watchdog_reset_still_boots_into_fault():
    rig = Rig(watchdog_reset=True, boot=False)
    rig.pen.resume(0, 1, 1, 1000)
    assert is_state(rig.tick(), "FAULT") and rig.pen.state == states.FAULT


def test_a_board_at_the_limits_is_accepted_and_one_beyond_refused_with_its_name():
    from boards.sim import board
    from firmware import pen as pen_mod

    class Edge:
        pass

    for name in dir(board):
        setattr(Edge, name, getattr(board, name))
    edges = (("VALVE_MIN_ON_MS", limits.VALVE_MIN_PULSE_MS, limits.VALVE_MAX_PULSE_MS),
             ("VALVE_MIN_OFF_MS", limits.VALVE_MIN_PULSE_MS, limits.VALVE_MAX_PULSE_MS),
             ("WDT_MS", limits.WDT_MIN_MS, limits.WDT_MAX_MS),
             ("FLOW_MAX_MG_PER_S", board.NOMINAL_FLOW_MG_PER_S, 2 * board.NOMINAL_FLOW_MG_PER_S))
    for name, lo, hi in edges:
        for v in (lo, hi):
            setattr(Edge, name, v)
            pen_mod.build(Edge, profile())
        setattr(Edge, name, hi + 1)
        try:
            pen_mod.build(Edge, profile())
        except pen_mod.BoardError as e:
            assert str(e) == "board sim: %s = %d is outside %d..%d" % (name, hi + 1, lo, hi)
        else:
            assert False, name
        setattr(Edge, name, getattr(board, name))
    Edge.CARTRIDGE_MG = 12000
    try:
        pen_mod.build(Edge, profile())
    except pen_mod.BoardError as e:
        assert str(e) == "board sim: CARTRIDGE_MG = 12000 is not one of %s" % (gauge.SIZES_MG,)
    else:
        assert False, "a 12 g cartridge was accepted"


def test_a_calibrated_pen_reads_each_sensor_on_its_own_curve():
    from boards.sim import board
    from firmware import pen as pen_mod, thermistor

    class Calibration:
        curves = (thermistor.fit_steinhart_hart(board.THERMISTOR_POINTS),
                  thermistor.Beta(1000.0, 25.0, 3000.0))

        def model(self, i):
            return self.curves[i]

    pen = pen_mod.build(board, profile(), calibration=Calibration())
    assert pen.thermistor.model is Calibration.curves[0]
    assert pen.thermistor2.model is Calibration.curves[1]

