"""One scenario per hazard (tests/scenarios/), run through `cryopen simulate`.
Each fault closes both valves at or before the tick after it is latched."""
import pytest

from firmware import limits, profiles
from tests.host.scenario_run import commanded, first_fault, gas, rows_between, simulate

# scenario -> (fault that must latch, injection time when it is seen on that tick)
FAULTS = {
    "thermistor_open": ("thermistor_open", 3.0),
    "thermistor_short": ("thermistor_short", 3.0),
    "thermistor_degraded": ("reading_out_of_range", 3.0),
    "thermistor_jump": ("rate_implausible", 3.0),
    "thermistor_stuck": ("sensor_disagree", None),  # the other sensor moves on
    "adc_error": ("adc_error", 3.0),
    "hal_exception": ("software_exception", 3.0),
    "cartridge_empty": ("no_cooling", None),
    "tilted": ("no_cooling", None),
    "below_floor": ("below_floor", None),
}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_closes_the_valve_by_the_next_tick(name, tmp_path):
    summary, trace = simulate(name, tmp_path)
    fault, injected = FAULTS[name]
    t = first_fault(summary, fault)
    if injected is not None:
        assert t == injected
    latched = rows_between(trace, t, t)[0]
    assert latched["valve_cmd"] == "0" and latched["master_cmd"] == "0"
    nxt = rows_between(trace, t + 0.01, t + 0.99)  # before any clear or reset
    assert nxt and all(r["valve_cmd"] == "0" and r["master_cmd"] == "0" for r in nxt)
    assert not any(gas(r) for r in nxt)  # below_floor: the main valve is stuck, the second holds
    assert all(r["state"] == "FAULT" for r in nxt)
    assert summary["applications"][0]["end_reason"] == "fault"


def test_a_frozen_sensor_is_caught_by_the_cross_check_before_the_stuck_window(tmp_path):
    summary, _ = simulate("thermistor_stuck", tmp_path)
    # The frozen sensor falls behind the cooling tip: the two disagree well before
    # the stuck check's two seconds (tested exactly in tests/core/test_supervisor.py).
    assert first_fault(summary, "sensor_disagree") - 3.0 < limits.STUCK_MS / 1000


def test_open_fault_stays_latched_after_clear_until_reset(tmp_path):
    summary, trace = simulate("thermistor_open", tmp_path)
    assert all(r["state"] == "FAULT" for r in rows_between(trace, 3.0, 6.99))
    assert not any(gas(r) or commanded(r) for r in rows_between(trace, 3.0, 14.99))
    assert rows_between(trace, 7.0, 7.0)[0]["state"] != "FAULT"
    second = summary["applications"][1]
    assert second["start_s"] == 15.0  # a new press after the reset opens again


def test_leaking_valve_raises_the_high_priority_alarm(tmp_path):
    summary, trace = simulate("valve_stuck_open", tmp_path)
    assert summary["applications"][0]["end_reason"] == "released"
    # Released at 6 s: the second valve stops the gas; the proving after the
    # still-cooling window finds the main valve leaking.
    t = first_fault(summary, "valve_leak")
    assert t - 6.0 <= (limits.PROVE_AFTER_MS + 2 * limits.PROVE_STEP_MS) / 1000
    proving = [r for r in rows_between(trace, 6.01, 30.0) if gas(r)]
    assert len(proving) * 10 <= limits.PROVE_OPEN_MS  # gas only in the step that found it
    assert not any(commanded(r) for r in rows_between(trace, 6.01, 30.0))
    assert rows_between(trace, t, t)[0]["beep"] == "alarm_high" or any(
        r["beep"] == "alarm_high" for r in rows_between(trace, t, t + 1.0))


def test_loop_hang_is_stopped_by_the_backstop_alone(tmp_path):
    summary, trace = simulate("loop_hang_backstop", tmp_path)
    events = [e["event"] for e in summary["hardware_events"]]
    assert events[:2] == ["enable_expired", "backstop_fired"]
    expired = summary["hardware_events"][0]["t_s"]
    assert expired - 1.5 <= 0.05  # the board's monostable: 40 ms after the last tick
    fired = summary["hardware_events"][1]["t_s"]
    assert 1.5 < fired < 2.5  # the timer too, in the cool-down; watchdog due at 2.5 s
    assert summary["max_valve_open_s"] <= 10.0 + 0.1
    assert summary["min_tip_c"] > profiles.builtin("aftercare").floor_cc / 100


def test_loop_hang_early_in_a_freeze_ends_in_a_watchdog_reset_and_fault(tmp_path):
    summary, trace = simulate("loop_hang_watchdog", tmp_path)
    assert summary["max_valve_open_s"] <= profiles.builtin("moderate").contact_ms / 1000 + 0.1
    assert "watchdog_reset" in [e["event"] for e in summary["hardware_events"]]
    assert summary["final_state"] == "FAULT"
    assert first_fault(summary, "watchdog_reset") <= 4.01
    assert summary["reboots"] == 1


def test_repeated_driver_exceptions_starve_the_watchdog(tmp_path):
    summary, trace = simulate("hal_exception", tmp_path)
    assert summary["exceptions"] > 0
    assert summary["reboots"] >= 1
    assert not any(gas(r) for r in rows_between(trace, 3.0, 12.0))


def test_low_battery_lets_the_application_finish_and_blocks_the_next(tmp_path):
    summary, trace = simulate("low_battery", tmp_path)
    assert [a["end_reason"] for a in summary["applications"]] == ["contact_limit"]
    assert not any(gas(r) for r in rows_between(trace, 20.0, 22.0))
    assert "low_battery" in summary["alarms"]


def test_press_during_thaw_is_refused(tmp_path):
    summary, trace = simulate("rest_lockout", tmp_path)
    starts = [a["start_s"] for a in summary["applications"]]
    assert starts == [1.0, 52.0]
    assert all(r["state"] == "LOCKOUT" for r in rows_between(trace, 20.0, 40.0))


def test_session_cap_ends_the_session(tmp_path):
    summary, trace = simulate("session_cap", tmp_path)
    assert [a["end_reason"] for a in summary["applications"]] == ["contact_limit", "session_cap"]
    assert summary["valve_open_total_s"] == pytest.approx(12.0, abs=0.011)
    assert summary["final_state"] == "DONE"
    assert not any(gas(r) for r in rows_between(trace, 50.0, 52.0))
