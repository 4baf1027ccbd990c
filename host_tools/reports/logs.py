"""`cryopen logs TRACE.csv`: the trace as a readable event log: state changes,
applications with their end reason, faults as they latch, alarms as they sound.

The trace is checked whole before a line is printed: a file that is not a trace,
is cut short, has a column renamed or time running backwards is refused with a
TraceError naming the file, the line and the column. A trace written before a
column was added (end_reason came after the first traces) still reads.
"""
import csv
import io
import math
import sys

from firmware import alarms, states
from host_tools import text_file
from host_tools.sim import outputs

_TEXT = {row[1]: (alarms.PRIORITY_NAMES[row[3]], row[5]) for row in alarms.TABLE}
# (valve_cmd, valve_open) pairs where the physical valve differs from the command
_MISMATCH = {("0", "1"): "valve open while commanded closed: stuck or leaking",
             ("1", "0"): "valve closed by the hardware while commanded open: backstop or watchdog"}
# The columns this log reads, all in the first trace format; end_reason came later.
REQUIRED = ("t_s", "state", "valve_cmd", "valve_open", "tip_c", "target_c", "alarm", "fault",
            "applications")
# Why an application ended: the pen's reasons, and the two the host sees (the
# summary's vocabulary: README, "Outputs").
END_REASONS = tuple(states.END_NAMES) + outputs.HOST_END_REASONS


class TraceError(ValueError):
    pass


def _number(path, line, row, column):
    text = row[column]
    try:
        v = float(text)
    except ValueError:
        v = None
    if v is None or not math.isfinite(v):
        raise TraceError("%s line %d: %s = %s is not a number" % (path, line, column,
                                                                   _shown(text)))
    return v


def _shown(text):
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _check_row(path, line, row, prev_t):
    """The row's time; TraceError naming the line and the column of the first problem."""
    t = _number(path, line, row, "t_s")
    if prev_t is not None and t < prev_t:
        raise TraceError("%s line %d: t_s = %s is earlier than the line before (%s): time "
                         "runs backwards" % (path, line, row["t_s"], "%.2f" % prev_t))
    if row["state"] not in states.STATE_NAMES:
        raise TraceError("%s line %d: state = %s is not one of %s"
                         % (path, line, _shown(row["state"]), ", ".join(states.STATE_NAMES)))
    for column in ("tip_c", "target_c"):
        _number(path, line, row, column)
    for column in ("valve_cmd", "valve_open"):
        if row[column] not in ("0", "1"):
            raise TraceError("%s line %d: %s = %s is not 0 or 1"
                             % (path, line, column, _shown(row[column])))
    if not (row["applications"].isascii() and row["applications"].isdigit()):
        raise TraceError("%s line %d: applications = %s is not a count"
                         % (path, line, _shown(row["applications"])))
    if row["alarm"] and row["alarm"] not in _TEXT:
        raise TraceError("%s line %d: alarm = %s is not an alarm of firmware/alarms.py"
                         % (path, line, _shown(row["alarm"])))
    for name in filter(None, row["fault"].split("|")):
        if name not in _TEXT:
            raise TraceError("%s line %d: fault = %s: %s is not a fault of firmware/alarms.py"
                             % (path, line, _shown(row["fault"]), _shown(name)))
    if row.get("end_reason", "") not in END_REASONS:
        raise TraceError("%s line %d: end_reason = %s is not one of %s"
                         % (path, line, _shown(row["end_reason"]),
                            ", ".join(filter(None, END_REASONS))))
    return t


def read(path):
    """The rows of the trace at path as dicts of strings, checked; TraceError with a
    message naming the file and where otherwise."""
    text = text_file.decode(path, text_file.read_bytes(path, TraceError), TraceError,
                            "nothing to read (a trace from `cryopen simulate --trace` has a "
                            "header and one row per tick)", "text: not a trace")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    prev_t = None
    try:
        header = next(reader)
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise TraceError("%s line 1: the header has no column %s: not a trace from "
                             "`cryopen simulate --trace`, which has %s and more"
                             % (path, missing[0], ", ".join(REQUIRED)))
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue
            if len(fields) != len(header):
                raise TraceError("%s line %d: %d fields where the header has %d%s"
                                 % (path, line, len(fields), len(header),
                                    " (the file is cut short)" if len(fields) < len(header)
                                    else ""))
            row = dict(zip(header, fields))
            prev_t = _check_row(path, line, row, prev_t)
            rows.append(row)
    except csv.Error as e:
        raise TraceError("%s line %d: not CSV: %s" % (path, reader.line_num, e))
    if not rows:
        raise TraceError("%s has a header but no rows: nothing to read" % path)
    return rows


def _end(row):
    """Why the application that ended on this row ended. A trace that leaves the reason
    blank (written before the simulator named the host's endings) ended by a watchdog
    reset when the pen restarted in FAULT, by a power cut when it went to BOOT."""
    if "end_reason" not in row:
        return None
    reason = row["end_reason"]
    if not reason:
        reason = {"FAULT": "watchdog_reset", "BOOT": "power_lost"}.get(row["state"], "unknown")
    return reason


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
            if r["alarm"]:  # from the boot on, e.g. a refused stored configuration
                yield t, "alarm: %s" % r["alarm"]
            prev = r
            continue
        if r["state"] != prev["state"]:
            line = "%s -> %s" % (prev["state"], r["state"])
            if r["state"] == "TREATING":
                started = t
                line += "  (application %s)" % r["applications"]
            elif prev["state"] == "TREATING" and started is not None:
                reason = _end(r)
                line += ("  end: %s after %.2f s" % (reason, t - started) if reason
                         else "  after %.2f s" % (t - started))
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
    if args.flash and args.trace:
        print("cryopen logs: give a trace or --flash IMAGE, not both", file=sys.stderr)
        return 2
    if args.flash:
        return _run_flash(args)
    if not args.trace or args.csv or args.json:
        print("cryopen logs: give a trace, or --flash IMAGE (with --csv or --json to export)",
              file=sys.stderr)
        return 2
    try:
        rows = read(args.trace)
    except TraceError as e:
        print("cryopen logs: %s" % e, file=sys.stderr)
        return 2
    for t, text in events(rows):
        print("%8.2f s  %s" % (t, text))
    return 0


def _run_flash(args):
    """Exit status 0: every record intact; 1: damage found (reported, the rest read);
    2: the image cannot be read or an export cannot be written."""
    from host_tools.pens import flash_image
    from host_tools.reports import record_log

    try:  # before reading: an export that cannot be written is refused first
        for path, option in ((args.csv, "--csv"), (args.json, "--json")):
            if path:
                outputs.prepare(path, option)
    except outputs.OutputError as e:
        print("cryopen logs: %s" % e, file=sys.stderr)
        return 2
    try:
        records, damaged = record_log.read(args.flash)
    except flash_image.ImageError as e:
        print("cryopen logs: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:  # the image mounts, but its file system fails as it is read
        print("cryopen logs: cannot read the record in %s: %s" % (args.flash, e.strerror or e),
              file=sys.stderr)
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
