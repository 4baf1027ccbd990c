"""Runs a scenario file through the `cryopen simulate` command, as a user would,
and reads back the summary and the trace."""
import json
import os

from host_tools import cli
from host_tools.sim import outputs

SCENARIOS = os.path.join(os.path.dirname(__file__), "..", "scenarios")


def simulate(name, tmp_path, *extra):
    trace = str(tmp_path / (name + ".csv"))
    summary = str(tmp_path / (name + ".json"))
    status = cli.main(["simulate", os.path.join(SCENARIOS, name + ".json"), "--trace", trace,
                       "--summary", summary, *extra])
    assert status == 0
    with open(summary) as f:
        return json.load(f), outputs.read_trace(trace)


def rows_between(trace, t0, t1):
    return [r for r in trace if t0 - 1e-9 <= float(r["t_s"]) <= t1 + 1e-9]


def first_fault(summary, name):
    times = [f["t_s"] for f in summary["faults"] if f["name"] == name]
    assert times, "fault %s never latched: %s" % (name, summary["faults"])
    return times[0]


def gas(row):
    """Both valves physically open: gas reaches the tip."""
    return row["valve_open"] == "1" and row["master_open"] == "1"


def commanded(row):
    """Both valves commanded open (one alone is a proving step)."""
    return row["valve_cmd"] == "1" and row["master_cmd"] == "1"
