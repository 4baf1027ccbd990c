"""The pen's state machine: dead-man trigger, cutoffs, lockout, session and reset."""
from firmware import signals, alarms, limits, states
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
