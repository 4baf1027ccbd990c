"""The scenario file is a public interface: every mistake is refused with a
message that says where, and exit status 2; the simulation does not start."""
import json

import pytest

from host_tools import cli
from host_tools.sim import scenario

GOOD = {"name": "ok", "profile": "moderate", "duration_s": 5, "plant": {},
        "events": [{"t": 1.0, "trigger": True}, {"t": 2.0, "fault": "loop_hang", "for_s": 0.5}]}


def run_with(tmp_path, capsys, doc):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    trace = tmp_path / "trace.csv"
    status = cli.main(["simulate", str(path), "--trace", str(trace)])
    return status, capsys.readouterr().err, trace.exists()


def changed(**kw):
    d = json.loads(json.dumps(GOOD))
    d.update(kw)
    return d


BAD = [
    (changed(colour="blue"), "unknown key colour"),
    (changed(duration_s="long"), "duration_s must be"),
    (changed(duration_s=0), "duration_s"),
    (changed(events=[{"t": 2.0, "trigger": True}, {"t": 1.0, "trigger": False}]), "earlier"),
    (changed(events=[{"t": 1.0, "trigger": "yes"}]), "trigger must be bool"),
    (changed(events=[{"t": 1.0, "fault": "gremlins"}]), "unknown fault 'gremlins'"),
    (changed(events=[{"t": 1.0, "fault": "loop_hang"}]), "loop_hang needs for_s"),
    (changed(events=[{"t": 1.0, "trigger": True, "for_s": 2}]), "for_s goes only with"),
    (changed(events=[{"t": 1.0, "trigger": True, "reset": True}]), "exactly one of"),
    (changed(events=[{"t": 9.0, "trigger": True}]), "outside 0..duration_s"),
    (changed(events=[{"trigger": True}]), "t is missing"),
    (changed(profile="nonexistent"), "no profile named"),
    (changed(profile={"name": "x", "kind": "freeze", "target_c": -50, "floor_c": -75, "hold_s": 10,
                      "contact_s": 60, "rest_s": 5, "session_s": 120, "cycles": 2,
                      "cool_window_s": 1.5, "cool_drop_c": 5}), "contact_s = 60 is above 45"),
    (changed(plant={"tip_mass_kg": 1}), "tip_mass_kg"),
    (changed(events=[{"t": 1.0, "fault": "loop_hang", "for_s": 1, "where": "kernel"}]),
     "where = 'kernel' is not one of python, c, irq_off"),
    (changed(events=[{"t": 1.0, "trigger": True, "where": "c"}]), "where goes only with"),
    (changed(events=[{"t": 1.0, "fault": "thermistor_open", "sensor": 3}]), "sensor = 3 is not 1 or 2"),
    (changed(events=[{"t": 1.0, "fault": "adc_error", "sensor": 1}]), "sensor goes only with"),
    (changed(events=[{"t": 1.0, "fault": "thermistor_drift"}]), "thermistor_drift needs offset_c"),
    (changed(events=[{"t": 1.0, "fault": "thermistor_drift", "offset_c": "hot"}]),
     "offset_c must be"),
    (changed(events=[{"t": 1.0, "fault": "thermistor_drift", "offset_c": 500}]),
     "offset_c = 500 is outside"),
    ('{"name": "n", "profile": "moderate", "duration_s": 5, "events": '
     '[{"t": 1, "fault": "thermistor_drift", "offset_c": NaN}]}', "events[0]: offset_c = NaN is not a finite number"),
    ('{"name": "n", "profile": "moderate", "duration_s": 5, "events": '
     '[{"t": 1, "fault": "loop_hang", "for_s": NaN}]}', "events[0]: for_s = NaN is not a finite number"),
    (changed(events=[{"t": 1.0, "fault": "thermistor_open", "offset_c": 1}]),
     "offset_c goes only with"),
    ("{not json", "not valid JSON"),
]


@pytest.mark.parametrize("doc,message", BAD, ids=[m for _, m in BAD])
def test_bad_scenario_is_refused_with_status_2(tmp_path, capsys, doc, message):
    status, err, started = run_with(tmp_path, capsys, doc)
    assert status == 2
    assert message in err
    assert not started


def test_good_scenario_runs(tmp_path, capsys):
    status, err, started = run_with(tmp_path, capsys, GOOD)
    assert status == 0
    assert started


def test_missing_file_is_a_scenario_error():
    with pytest.raises(scenario.ScenarioError, match="cannot read"):
        scenario.load("/nonexistent/scenario.json")
