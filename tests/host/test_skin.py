"""The skin in the simulator's outputs (issue 14): the resolved tissue wired into the
plant, its readouts in every trace row, the dose in the summary, per application and
for the run. The ranges and their reasoning are in docs/PLANT.md, "Skin in the
outputs". The figures are printed at the end of every run (TERMINAL_SUMMARY)."""
import csv
import math

import pytest

from firmware import limits
from host_tools.reports import logs
from host_tools.sim import outputs, scenario, simulator
from tests.host.scenario_run import simulate

TERMINAL_SUMMARY = []
PIGMENT_C = limits.PIGMENT_FLOOR_CC / 100.0
SKIN_COLUMNS = ("skin_c", "basal_c", "ice_mm", "lethal_mm")
SKIN_KEYS = ("min_skin_c", "min_basal_c", "max_ice_mm", "max_lethal_mm")
# docs/PLANT.md: after the moderate profile's 10 s hold, from the CryoPen's 1 mm per 5 s
ICE_MM = (1.1, 2.5)
LETHAL_MM = (0.7, 1.5)


def press(profile, release_s, duration_s, plant=None):
    """The clinician presses at 1 s and holds until release_s."""
    doc = {"name": "%s held" % profile, "profile": profile, "duration_s": duration_s,
           "plant": plant or {},
           "events": [{"t": 1.0, "trigger": True}, {"t": release_s, "trigger": False}]}
    return simulator.run(scenario.from_dict(doc))


def figures(summary):
    return ", ".join("%s %s" % (k, summary[k]) for k in SKIN_KEYS)


def test_the_skin_columns_come_last_in_the_trace():
    assert simulator.TRACE_COLUMNS[-len(SKIN_COLUMNS):] == SKIN_COLUMNS


def test_aftercare_keeps_the_basal_layer_above_the_melanocyte_threshold():
    result = press("aftercare", 12.0, 20.0)
    s = result.summary
    assert s["min_basal_c"] > PIGMENT_C
    assert s["max_lethal_mm"] == 0.0  # aftercare's lethal isotherm is the -5 C itself
    (app,) = s["applications"]
    assert app["lethal_c"] == PIGMENT_C and app["basal_below_minus5_s"] == 0.0
    TERMINAL_SUMMARY.append("aftercare, default plant: " + figures(s))


def test_a_stuck_main_valve_in_aftercare_shows_how_cold_the_basal_layer_got(tmp_path):
    summary, trace = simulate("valve_stuck_aftercare", tmp_path)
    assert [f["name"] for f in summary["faults"]]  # the pen saw it and closed the second valve
    assert summary["min_basal_c"] == pytest.approx(min(float(r["basal_c"]) for r in trace),
                                                   abs=0.01)
    assert summary["min_skin_c"] <= summary["min_basal_c"]
    # The second valve closes it before the basal layer reaches the melanocytes' -5 C.
    assert summary["min_basal_c"] > PIGMENT_C
    TERMINAL_SUMMARY.append("aftercare, main valve stuck open at 2 s (faults %s): %s"
                            % ([f["name"] for f in summary["faults"]], figures(summary)))


def test_a_moderate_freeze_reaches_the_depths_the_cryopen_figure_gives():
    result = press("moderate", 24.0, 25.0)
    s = result.summary
    (app,) = s["applications"]
    assert app["end_reason"] == "complete"
    assert ICE_MM[0] <= s["max_ice_mm"] <= ICE_MM[1]
    assert LETHAL_MM[0] <= s["max_lethal_mm"] <= LETHAL_MM[1]
    assert s["min_basal_c"] < PIGMENT_C < s["min_basal_c"] + 60.0
    assert 0.0 < app["basal_below_minus5_s"] <= s["duration_s"] - app["start_s"]
    assert (app["max_ice_mm"], app["max_lethal_mm"]) == (s["max_ice_mm"], s["max_lethal_mm"])
    TERMINAL_SUMMARY.append(
        "moderate, default plant, held to completion: %s (expected ice %.1f to %.1f mm, "
        "lethal %.1f to %.1f mm); basal layer below %.0f C for %.2f s" % (
            figures(s), ICE_MM[0], ICE_MM[1], LETHAL_MM[0], LETHAL_MM[1], PIGMENT_C,
            app["basal_below_minus5_s"]))


def test_the_skin_in_the_trace_is_the_plants_and_the_summary_its_extremes():
    result = press("short", 12.0, 14.0)
    rows = [dict(zip(simulator.TRACE_COLUMNS, r)) for r in result.trace]
    s = result.summary
    assert s["min_skin_c"] == round(min(r["skin_c"] for r in rows), 2)
    assert s["min_basal_c"] == round(min(r["basal_c"] for r in rows), 2)
    assert s["max_ice_mm"] == round(max(r["ice_mm"] for r in rows), 3)
    assert s["max_lethal_mm"] == round(max(r["lethal_mm"] for r in rows), 3)
    for r in rows:  # in contact the face is at the tip's temperature
        assert r["skin_c"] == r["tip_c"]
        assert 0.0 <= r["lethal_mm"] <= r["ice_mm"] and math.isfinite(r["basal_c"])


def test_a_profile_without_a_lethal_temperature_uses_the_plants():
    custom = {"name": "no_lethal", "kind": "freeze", "target_c": -50, "floor_c": -75,
              "hold_s": 5, "contact_s": 15, "rest_s": 5, "session_s": 120, "cycles": 4,
              "cool_window_s": 1.5, "cool_drop_c": 5}
    doc = {"name": "t", "profile": custom, "duration_s": 3.0, "plant": {"lethal_c": -30},
           "events": [{"t": 1.0, "trigger": True}]}
    sim = simulator.Simulation(scenario.from_dict(doc))
    result = sim.run()
    assert sim.plant.lethal_c == -30.0 and result.summary["applications"][0]["lethal_c"] == -30.0


@pytest.mark.parametrize("before, after, expected", [
    (0.0, 1.0, 0.0), (-6.0, -7.0, 0.25), (-4.0, -6.0, 0.125), (-6.0, -4.0, 0.125)])
def test_time_below_is_interpolated_across_a_step(before, after, expected):
    assert simulator._time_below(before, after, 0.25, -5.0) == pytest.approx(expected)


def test_a_trace_written_before_the_skin_columns_still_reads(tmp_path):
    result = press("short", 3.0, 4.0)
    path = str(tmp_path / "t.csv")
    outputs.write_trace(path, result.trace, result.summary["applications"])
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    old = str(tmp_path / "old.csv")
    with open(old, "w", newline="") as f:
        csv.writer(f).writerows(r[:-len(SKIN_COLUMNS)] for r in rows)
    new_events = list(logs.events(logs.read(path)))
    assert list(logs.events(logs.read(old))) == new_events
    assert any("TREATING" in text for _, text in new_events)
