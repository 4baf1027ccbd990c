"""`cryopen logs TRACE.csv`: the trace as a readable event log: state changes,
applications with their end reason, faults as they latch, alarms as they sound."""
from firmware import alarms
from host_tools import outputs

_TEXT = {row[1]: (alarms.PRIORITY_NAMES[row[3]], row[5]) for row in alarms.TABLE}
# (valve_cmd, valve_open) pairs where the physical valve differs from the command
_MISMATCH = {("0", "1"): "valve open while commanded closed: stuck or leaking",
             ("1", "0"): "valve closed by the hardware while commanded open: backstop or watchdog"}


def add_arguments(p):
    p.add_argument("trace", help="a trace written by `cryopen simulate --trace`")


def events(rows):
    """(t_s, text) for every change worth a line."""
    prev = None
    started = None
    seen = set()
    for r in rows:
        t = float(r["t_s"])
        if prev is None:
            yield t, "start in %s, tip %s C, target %s C" % (r["state"], r["tip_c"], r["target_c"])
            prev = r
            continue
        if r["state"] != prev["state"]:
            line = "%s -> %s" % (prev["state"], r["state"])
            if r["state"] == "TREATING":
                started = t
                line += "  (application %s)" % r["applications"]
            elif prev["state"] == "TREATING" and started is not None:
                line += "  end: %s after %.2f s" % (r["end_reason"] or "restart", t - started)
            yield t, line
        new = set(filter(None, r["fault"].split("|"))) - set(filter(None, prev["fault"].split("|")))
        for name in sorted(new):
            prio, text = _TEXT[name]
            yield t, "fault latched: %s (%s priority) %s" % (name, prio, text)
        if r["alarm"] != prev["alarm"]:
            yield t, "alarm: %s" % (r["alarm"] or "cleared")
        mismatch = (r["valve_cmd"], r["valve_open"])
        if mismatch in _MISMATCH and mismatch not in seen:
            seen.add(mismatch)
            yield t, _MISMATCH[mismatch]
        prev = r


def run(args):
    for t, text in events(outputs.read_trace(args.trace)):
        print("%8.2f s  %s" % (t, text))
    return 0
