"""Single faults on the simulated pen, through the public scenario format: a stuck
valve, a drifting or detached sensor, a hang anywhere. None may bring the tip more
than 2 C below the profile floor (the safety argument, docs/SAFETY.md, "FMEA")."""
import pytest

from boards.sim import board
from firmware import limits, profiles
from host_tools.sim import scenario, simulator
from tests.host.scenario_run import first_fault, gas, rows_between, simulate

COLUMNS = simulator.TRACE_COLUMNS
FLOOR_MARGIN_C = 2.0
# Gas stops within this of the last tick when the loop hangs: the board's monostable
# (ENABLE_HOLD_MS) rounded up to the simulator's tick.
HANG_GAS_BOUND_S = (board.ENABLE_HOLD_MS + limits.TICK_MS) / 1000
# Both valves closed by then at the latest: the watchdog resets the MCU.
HANG_VALVES_BOUND_S = (board.WDT_MS + limits.TICK_MS) / 1000


def run(profile, events, duration_s=30):
    d = {"name": "single fault", "profile": profile, "duration_s": duration_s, "events": events}
    result = simulator.run(scenario.from_dict(d))
    rows = [dict(zip(COLUMNS, r)) for r in result.trace]
    return result.summary, rows


def floor_c(profile):
    return profiles.builtin(profile).floor_cc / 100


def gas_times(rows):
    return [r["t_s"] for r in rows if r["valve_open"] and r["master_open"]]


@pytest.mark.parametrize("profile", ["aftercare", "moderate"])
@pytest.mark.parametrize("fault", ["valve_stuck_open", "master_stuck_open"])
def test_a_stuck_valve_mid_application_keeps_the_tip_within_2_c_of_the_floor(profile, fault):
    summary, rows = run(profile, [{"t": 1.0, "trigger": True}, {"t": 3.0, "fault": fault},
                                  {"t": 12.0, "trigger": False}])
    assert min(r["tip_c"] for r in rows) >= floor_c(profile) - FLOOR_MARGIN_C
    end = summary["applications"][0]["end_s"]
    assert end <= 12.0
    # After the application only a proving step may pass gas, and only through a
    # valve that leaks: once, for at most PROVE_OPEN_MS, and then the fault latches.
    after = [t for t in gas_times(rows) if t > end]
    assert len(after) * limits.TICK_MS <= limits.PROVE_OPEN_MS
    assert summary["final_state"] == "FAULT"
    assert {f["name"] for f in summary["faults"]} & {"below_floor", "valve_leak",
                                                       "second_valve_leak"}


def test_the_main_valve_stuck_in_aftercare_is_closed_by_the_second_valve(tmp_path):
    summary, trace = simulate("valve_stuck_aftercare", tmp_path)
    t = first_fault(summary, "below_floor")
    assert float(rows_between(trace, t, t)[0]["tip_c"]) >= floor_c("aftercare") - FLOOR_MARGIN_C
    later = rows_between(trace, t, 20.0)
    assert all(r["valve_open"] == "1" for r in later)  # stuck: the firmware cannot close it
    assert not any(gas(r) for r in later)  # the second valve holds
    assert summary["min_tip_c"] >= floor_c("aftercare") - FLOOR_MARGIN_C


def test_a_second_valve_stuck_open_is_found_by_the_proving_after_the_application(tmp_path):
    summary, trace = simulate("master_stuck_open", tmp_path)
    end = summary["applications"][0]["end_s"]
    t = first_fault(summary, "second_valve_leak")
    assert t - end <= (limits.PROVE_AFTER_MS + limits.PROVE_STEP_MS) / 1000
    assert summary["final_state"] == "FAULT"


@pytest.mark.parametrize("profile", ["aftercare", "moderate"])
@pytest.mark.parametrize("sensor", [1, 2])
@pytest.mark.parametrize("offset_c", [10, -10])
def test_a_drifting_sensor_latches_a_fault_within_1_s(profile, sensor, offset_c):
    summary, rows = run(profile, [
        {"t": 1.0, "trigger": True},
        {"t": 6.0, "fault": "thermistor_drift", "offset_c": offset_c, "sensor": sensor},
        {"t": 12.0, "trigger": False}])
    t = min(f["t_s"] for f in summary["faults"])
    assert 6.0 <= t <= 7.0
    assert first_fault(summary, "sensor_disagree") <= 7.0  # the cross-check sees it too
    after = [r for r in rows if r["t_s"] >= t]
    assert not any(r["valve_cmd"] or r["master_cmd"] for r in after)
    assert not any(r["valve_open"] and r["master_open"] for r in after)
    assert summary["min_tip_c"] >= floor_c(profile)


def test_a_slow_drift_is_caught_by_the_cross_check_alone():
    """Under the rate limit, inside the plausible range: only the second sensor sees it."""
    events = [{"t": 1.0, "trigger": True}]
    events += [{"t": 6.0 + 0.5 * i, "fault": "thermistor_drift", "offset_c": i, "sensor": 1}
               for i in range(1, 9)]  # 1 C steps: 100 C/s, under the rate limit
    summary, rows = run("moderate", events + [{"t": 14.0, "trigger": False}], 20)
    assert [f["name"] for f in summary["faults"]] == ["sensor_disagree"]
    # 6 C of drift at 9 s, over the 5 C bound: latched DISAGREE_MS later
    assert first_fault(summary, "sensor_disagree") <= 9.0 + limits.DISAGREE_MS / 1000 + 0.01
    assert summary["min_tip_c"] >= floor_c("moderate")


def test_a_detached_sensor_is_caught_by_the_cross_check(tmp_path):
    summary, _ = simulate("thermistor_detached", tmp_path)
    assert first_fault(summary, "sensor_disagree") - 6.0 <= 1.0
    assert summary["min_tip_c"] >= floor_c("moderate")


@pytest.mark.parametrize("where", ["python", "c", "irq_off"])
def test_a_hang_anywhere_stops_the_gas_within_the_board_bound(where):
    contact_s = profiles.builtin("aftercare").contact_ms / 1000
    # While the valve is fully open: the tip reaches 4 C about 1 s after the press and
    # the regulator pulses from then on, so a later hang may find it closed.
    hang_s = 1.5
    summary, rows = run("aftercare", [
        {"t": 1.0, "trigger": True},
        {"t": hang_s, "fault": "loop_hang", "for_s": 5.0, "where": where},
        {"t": 17.0, "trigger": False}], 20)
    flowing = gas_times(rows)
    assert max(t for t in flowing if t < hang_s + 1.0) < hang_s + HANG_GAS_BOUND_S
    assert not any(r["master_open"] for r in rows
                   if hang_s + HANG_GAS_BOUND_S <= r["t_s"] < 3.5)
    assert not any(r["valve_open"] for r in rows
                   if hang_s + HANG_VALVES_BOUND_S <= r["t_s"] < 3.5)
    assert summary["min_tip_c"] >= floor_c("aftercare")
    assert summary["max_valve_open_s"] <= contact_s + 0.1
    events = [e["event"] for e in summary["hardware_events"]]
    assert events[0] == "enable_expired"
    # The board's timer closes the main valve only where its callback can run.
    assert ("backstop_fired" in events) == (where == "python")


def test_the_esp32_like_sim_board_has_a_soft_backstop_timer():
    """The simulator takes the weaker port: a hang in C is not stopped by the timer."""
    assert board.BACKSTOP_TIMER_HARD is False and board.HAS_MASTER_VALVE is True
