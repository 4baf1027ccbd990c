"""Writes a simulation's trace (CSV) and summary (JSON)."""
import csv
import json
import os

from firmware import alarms, signals, states
from host_tools.simulator import TRACE_COLUMNS

# How each trace column is written: integers stay integers, codes become names.
_FORMAT = {
    "t_s": lambda v: "%.2f" % v,
    "state": lambda v: states.STATE_NAMES[v],
    "tip_c": lambda v: "%.2f" % v,
    "reading_c": lambda v: "%.2f" % v,
    "target_c": lambda v: "%.2f" % v,
    "alarm": alarms.name_of,
    "fault": lambda v: "|".join(alarms.names(v)),
    "gas_g": lambda v: "%.4f" % v,
    "beep": lambda v: signals.BEEP_NAMES[v],
    "end_reason": lambda v: states.END_NAMES[v],
    "reading2_c": lambda v: "%.2f" % v,
}


def _ensure_dir(path):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)


def write_trace(path, trace):
    _ensure_dir(path)
    fmt = [_FORMAT.get(c, str) for c in TRACE_COLUMNS]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(TRACE_COLUMNS)
        for row in trace:
            w.writerow([fn(v) for fn, v in zip(fmt, row)])


def write_summary(path, summary):
    _ensure_dir(path)
    with open(path, "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


def read_trace(path):
    """The trace back as a list of dicts of strings (for tests and tools)."""
    with open(path, newline="") as f:
        return list(csv.DictReader(f))
