"""`cryopen logs TRACE.csv`: the trace as a readable event log: state changes,
applications with their end reason, faults as they latch, alarms as they sound."""
import sys

from firmware import alarms
from host_tools import outputs

_TEXT = {row[1]: (alarms.PRIORITY_NAMES[row[3]], row[5]) for row in alarms.TABLE}
# (valve_cmd, valve_open) pairs where the physical valve differs from the command
_MISMATCH = {("0", "1"): "valve open while commanded closed: stuck or leaking",
             ("1", "0"): "valve closed by the hardware while commanded open: backstop or watchdog"}


def add_arguments(p):
    p.add_argument("trace", nargs="?", help="a trace written by `cryopen simulate --trace`")
    p.add_argument("--flash", metavar="IMAGE",
                   help="read the treatment record from a pen's flash image instead")
    p.add_argument("--csv", metavar="FILE.csv", help="with --flash: export the records")
    p.add_argument("--json", metavar="FILE.json", help="with --flash: export the records")


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
    if args.flash:
        return _run_flash(args)
    if not args.trace or args.csv or args.json:
        print("cryopen logs: give a trace, or --flash IMAGE (with --csv or --json to export)",
              file=sys.stderr)
        return 2
    for t, text in events(outputs.read_trace(args.trace)):
        print("%8.2f s  %s" % (t, text))
    return 0


def _run_flash(args):
    """Exit status 0: every record intact; 1: damage found (reported, the rest read);
    2: the image cannot be read or an export cannot be written."""
    from host_tools import flash_image, record_log

    try:
        records, damaged = record_log.read(args.flash)
    except flash_image.ImageError as e:
        print("cryopen logs: %s" % e, file=sys.stderr)
        return 2
    for r in records:
        print(record_log.line(r))
    for position, problem in damaged:
        print("damaged record at %s: %s (skipped)" % (position, problem))
    try:
        if args.csv:
            record_log.write_csv(args.csv, records)
        if args.json:
            record_log.write_json(args.json, records, damaged)
    except OSError as e:
        print("cryopen logs: cannot write %s: %s" % (e.filename, e.strerror), file=sys.stderr)
        return 2
    print("%d records, %d damaged" % (len(records), len(damaged)))
    return 1 if damaged else 0
