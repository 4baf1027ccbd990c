"""The pen in the clinic: the mode button chooses the profile (in IDLE only) and
starts a session (a 2 s hold, never in a rest); the clinic configuration says
which profiles it offers. Through the public scenario format."""
import json

from firmware import signals
from host_tools import cli
from host_tools.sim import scenario, simulator

COLUMNS = simulator.TRACE_COLUMNS
CONFIG = {"profiles": ["aftercare", "short"], "start": "aftercare"}


def run(doc):
    result = simulator.run(scenario.from_dict(doc))
    return result.summary, [dict(zip(COLUMNS, r)) for r in result.trace]


def press(t, seconds, key="mode"):
    return [{"t": t, key: True}, {"t": round(t + seconds, 2), key: False}]


def test_a_short_press_in_idle_chooses_the_next_profile_and_only_there():
    events = (press(1.0, 0.2) + [{"t": 2.0, "trigger": True}] + press(3.0, 0.2)
              + [{"t": 9.0, "trigger": False}] + press(10.0, 0.2))
    summary, rows = run({"name": "choose", "duration_s": 20, "config": CONFIG,
                         "events": events})
    assert summary["profile_changes"] == [{"t_s": 1.2, "from": "aftercare", "to": "short"}]
    assert [(a["start_s"], a["profile"]) for a in summary["applications"]] == [(2.0, "short")]
    # in TREATING (3.2 s) and in the rest (10.2 s): refused, with its sound
    for t in (3.2, 10.2):
        row = [r for r in rows if abs(r["t_s"] - t) < 1e-6][0]
        assert row["profile"] == "short" and row["beep"] == signals.BEEP_REFUSED, t


def test_sessions_start_by_a_long_press_never_by_reset_never_in_a_rest():
    cfg = {"profiles": ["darker_skin"], "custom": []}
    events = ([{"t": 1.0, "trigger": True}, {"t": 4.0, "trigger": False}]
              + press(6.0, 2.5)  # in the 30 s rest: refused
              + [{"t": 36.0, "trigger": True}, {"t": 39.0, "trigger": False},
                 {"t": 70.0, "reset": True}]  # DONE: reset has one job, and it is not this
              + press(72.0, 2.5)  # DONE: a new session
              + [{"t": 76.0, "trigger": True}, {"t": 78.0, "trigger": False}])
    summary, rows = run({"name": "sessions", "duration_s": 80, "config": cfg, "events": events})
    assert [s["session"] for s in summary["sessions"]] == [1, 2]
    assert summary["sessions"][1]["t_s"] == 74.0  # the hold reached 2 s
    assert [a["start_s"] for a in summary["applications"]] == [1.0, 36.0, 76.0]
    assert {r["state"] for r in rows if 69.0 <= r["t_s"] < 74.0} == {5}  # DONE
    assert [r["applications"] for r in rows if r["t_s"] == 76.5] == [1]


def test_an_invalid_config_stops_with_the_field_and_status_2(tmp_path, capsys):
    bad = [({"profiles": ["aftercare", "frosty"]}, "config.profiles[1]: no profile named 'frosty'"),
           ({"profiles": ["x"], "custom": [{"name": "x", "kind": "freeze", "target_c": -50,
                                            "floor_c": -75, "hold_s": 10, "contact_s": 60,
                                            "rest_s": 5, "session_s": 120, "cycles": 2,
                                            "cool_window_s": 1.5, "cool_drop_c": 5}]},
            "config.custom[0]: profile 'x': contact_s = 60 is above 45"),
           ({"profiles": ["short"], "start": "aftercare"}, "config.start: 'aftercare' is not"),
           ({"profiles": []}, "config.profiles must list 1 to 16")]
    for cfg, message in bad:
        path = tmp_path / "s.json"
        path.write_text(json.dumps({"name": "bad", "duration_s": 5, "config": cfg,
                                    "events": []}))
        assert cli.main(["simulate", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err, err
