"""Writes a simulation's trace (CSV) and summary (JSON), and checks an output path
before a run: its folder is made, and a path that cannot be written (a directory,
a file in its way, no permission, a plot format matplotlib lacks) is refused with
an OutputError that names it, before the simulation spends any time."""
import csv
import json
import os

from firmware import alarms, signals, states

# Application endings the host sees and the pen cannot report (its RAM is gone): the
# summary's names (README, "Outputs"). The trace's end_reason column carries them
# from the moment they happen until the pen reports an ending of its own.
HOST_END_REASONS = ("watchdog_reset", "power_lost")

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
    "end_reason": lambda v: v if isinstance(v, str) else states.END_NAMES[v],
    "reading2_c": lambda v: "%.2f" % v,
    "gas_left_est_g": lambda v: "" if v is None else "%.3f" % v,  # blank: not known
    "skin_c": lambda v: "%.2f" % v,
    "basal_c": lambda v: "%.2f" % v,
    "ice_mm": lambda v: "%.3f" % v,
    "lethal_mm": lambda v: "%.3f" % v,
}


def _trace_columns():
    """The simulator's trace columns, imported when a trace is written: the simulator
    pulls in the physical model (CoolProp, seconds to load), which `cryopen logs`,
    reading a trace through this module's names, does without."""
    from host_tools.sim.simulator import TRACE_COLUMNS

    return TRACE_COLUMNS


class OutputError(ValueError):
    pass


def plot_formats():
    """The file name endings matplotlib can write, sorted."""
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(FigureCanvasBase.get_supported_filetypes())


def prepare(path, option):
    """Makes the folder of an output file and checks the file can be written there,
    leaving no file behind; OutputError naming the option and the path otherwise."""
    if option == "--plot":
        ext = os.path.splitext(path)[1][1:].lower()
        formats = plot_formats()
        if ext not in formats:
            raise OutputError("%s %s: %s; the plot formats are %s"
                              % (option, path, "the name has no ending" if not ext else
                                 "cannot draw a .%s file" % ext, ", ".join(formats)))
    if os.path.isdir(path):
        raise OutputError("%s %s is a directory: give a file name" % (option, path))
    folder = os.path.dirname(path)
    blocked = _file_in_the_way(folder)
    if blocked:
        raise OutputError("%s %s: %s is a file, not a folder" % (option, path, blocked))
    try:
        if folder:
            os.makedirs(folder, exist_ok=True)
        existed = os.path.exists(path)
        with open(path, "ab"):
            pass
        if not existed:
            os.remove(path)
    except OSError as e:
        raise OutputError("%s %s: cannot write %s: %s"
                          % (option, path, e.filename or path, e.strerror or e))


def _file_in_the_way(folder):
    """The first part of folder that exists and is not a directory, or None."""
    while folder and not os.path.exists(folder):
        folder = os.path.dirname(folder)
    return folder if folder and not os.path.isdir(folder) else None


def _host_endings(trace, applications):
    """end_reason per row: the pen's, or from the moment an application ended by the
    host's hand (a watchdog reset, a power cut) that ending, until the next
    application starts (the pen blanks its reason then) or the pen reports one."""
    t_col, state_col, end_col = (_trace_columns().index(c) for c in ("t_s", "state", "end_reason"))
    ends = sorted((a["end_s"], a["end_reason"]) for a in applications
                  if a.get("end_reason") in HOST_END_REASONS)
    host = None
    for row in trace:
        while ends and row[t_col] >= ends[0][0] - 1e-9:
            host = ends.pop(0)[1]
        if row[end_col] != states.END_NONE or row[state_col] == states.TREATING:
            host = None  # the pen's own ending, or a new application: blank until it ends
        yield row[end_col] if host is None else host


def write_trace(path, trace, applications=()):
    """applications: the summary's, whose host endings (watchdog_reset, power_lost) the
    end_reason column names as the summary does."""
    _ensure_dir(path)
    columns = _trace_columns()
    fmt = [_FORMAT.get(c, str) for c in columns]
    end_col = columns.index("end_reason")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for row, end in zip(trace, _host_endings(trace, applications)):
            w.writerow([fn(v) for fn, v in
                        zip(fmt, row[:end_col] + (end,) + row[end_col + 1:])])


def _ensure_dir(path):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)


def write_summary(path, summary):
    _ensure_dir(path)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")


def read_trace(path):
    """The trace back as a list of dicts of strings (for tests; `cryopen logs` reads
    through host_tools.reports.logs.read, which checks it)."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
