"""Plots a trace: tip temperature, reading, target and floor against time, the
states as shaded bands, the valve (command and physical), and alarms and beeps."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from firmware import states  # noqa: E402
from host_tools.simulator import TRACE_COLUMNS  # noqa: E402

_COL = {name: i for i, name in enumerate(TRACE_COLUMNS)}
_STATE_COLOURS = {states.TREATING: "#cfe3ff", states.LOCKOUT: "#e8e8e8",
                  states.FAULT: "#ffd0d0", states.DONE: "#f3f0d8"}


def _column(trace, name):
    i = _COL[name]
    return [row[i] for row in trace]


def _shade_states(ax, t, st):
    start = 0
    for i in range(1, len(st) + 1):
        if i == len(st) or st[i] != st[start]:
            colour = _STATE_COLOURS.get(st[start])
            if colour:
                ax.axvspan(t[start], t[i - 1], color=colour, lw=0)
            start = i


def plot(path, result, floor_c=None, compare=None):
    """compare: an optional second Result (the open-loop baseline) drawn on the same axes."""
    trace = result.trace
    t = _column(trace, "t_s")
    fig, (ax, axv) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True,
                                  gridspec_kw={"height_ratios": [3, 1.3]})
    _shade_states(ax, t, _column(trace, "state"))
    ax.plot(t, _column(trace, "tip_c"), color="#1f4e9c", lw=1.6, label="tip (model)")
    ax.plot(t, _column(trace, "reading_c"), color="#5aa0e6", lw=0.8, ls=":", label="tip (sensor 1)")
    ax.plot(t, _column(trace, "reading2_c"), color="#9b59b6", lw=0.8, ls=":", label="tip (sensor 2)")
    ax.plot(t, _column(trace, "target_c"), color="#2a9d55", lw=1.0, ls="--", label="target")
    if floor_c is not None:
        ax.axhline(floor_c, color="#c0392b", lw=1.0, ls="-.", label="floor")
    if compare is not None:
        ax.plot(_column(compare.trace, "t_s"), _column(compare.trace, "tip_c"), color="#e67e22",
                lw=1.3, label="tip, open loop")
    ax.set_ylabel("temperature (C)")
    ax.set_title("%s: profile %s (bands: blue treating, grey lockout, red fault)"
                 % (result.scenario.name, result.scenario.profile.name))
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    axv.step(t, _column(trace, "valve_cmd"), where="post", color="#7f8c8d", lw=0.8,
             label="valve command")
    axv.step(t, [v * 0.9 for v in _column(trace, "valve_open")], where="post", color="#1f4e9c",
             lw=1.0, label="main valve open (physical)")
    axv.step(t, [v * 0.75 for v in _column(trace, "master_open")], where="post",
             color="#16a085", lw=1.0, label="second valve open (physical)")
    if compare is not None:
        axv.step(_column(compare.trace, "t_s"), [v * 0.8 for v in _column(compare.trace,
                 "valve_open")], where="post", color="#e67e22", lw=0.8, label="valve, open loop")
    beeps = [(ti, 1.15) for ti, hz in zip(t, _column(trace, "tone_hz")) if hz]
    alarm_t = [ti for ti, a in zip(t, _column(trace, "alarm")) if a]
    if beeps:
        axv.scatter([b[0] for b in beeps], [b[1] for b in beeps], s=2, color="#8e44ad",
                    label="beep")
    if alarm_t:
        axv.scatter(alarm_t, [1.3] * len(alarm_t), s=2, color="#c0392b", label="alarm active")
    axv.set_ylim(-0.1, 1.45)
    axv.set_yticks([0, 1])
    axv.set_xlabel("time (s)")
    axv.legend(loc="upper right", fontsize=7, ncol=4)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
