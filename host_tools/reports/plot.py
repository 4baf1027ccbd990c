"""Plots a trace for a clinician: the tip temperature (model and both sensors)
against the target and the floor, with their values; the skin (its surface under
the tip and the basal layer against the melanocytes' -5 C, and how deep the ice and
the lethal temperature reach); the pen's state as a labelled timeline; the trigger;
both valves as the share of each second they were open (their duty), command
against physical; and the alarms by name."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from firmware import alarms, limits, states  # noqa: E402
from host_tools.sim.simulator import TRACE_COLUMNS  # noqa: E402
from host_tools.sim.tissue import ICE_C  # noqa: E402

_COL = {name: i for i, name in enumerate(TRACE_COLUMNS)}
_STATE_COLOURS = {states.BOOT: "#f4f4f4", states.IDLE: "#ffffff", states.TREATING: "#cfe3ff",
                  states.LOCKOUT: "#e3e3e3", states.FAULT: "#ffd0d0", states.DONE: "#f3f0d8"}
_STATE_MEANING = {states.BOOT: "starting", states.IDLE: "ready", states.TREATING: "treating",
                  states.LOCKOUT: "rest between applications", states.FAULT: "fault, valves closed",
                  states.DONE: "session complete"}
DUTY_WINDOW_S = 0.5  # the valves are drawn as the share of this window they were open
ZOOM_S = 10.0  # a trace shorter than this shows the valves' real pulses instead


def _column(trace, name):
    i = _COL[name]
    return [row[i] for row in trace]


def _runs(t, values):
    """(start, end, value) for each run of equal values."""
    start = 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            yield t[start], t[min(i, len(t) - 1)], values[start]
            start = i


def _duty(t, values):
    """The share of each DUTY_WINDOW_S window a 0/1 column was 1, as a step line."""
    if not t:
        return [], []
    xs, ys = [], []
    i = 0
    while i < len(t):
        end = t[i] + DUTY_WINDOW_S
        j = i
        while j < len(t) and t[j] < end:
            j += 1
        xs.append(t[i])
        ys.append(sum(values[i:j]) / (j - i))
        i = j
    return xs, ys


def _state_timeline(ax, t, st):
    seen = []
    for a, b, s in _runs(t, st):
        ax.axvspan(a, b, color=_STATE_COLOURS[s], lw=0)
        if s not in seen:
            seen.append(s)
    ax.set_yticks([])
    ax.set_ylabel("state", rotation=0, ha="right", va="center")
    handles = [Patch(facecolor=_STATE_COLOURS[s], edgecolor="#999999",
                     label="%s: %s" % (states.STATE_NAMES[s], _STATE_MEANING[s])) for s in seen]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7,
              frameon=False)


def _valves(ax, t, trace, compare):
    short = t and t[-1] - t[0] <= ZOOM_S
    series = (("valve_cmd", "main valve, commanded", "#9aa5ad", "--"),
              ("valve_open", "main valve, physical", "#1f4e9c", "-"),
              ("master_open", "second valve, physical", "#16a085", "-"))
    for name, label, colour, style in series:
        values = _column(trace, name)
        if short:
            ax.step(t, values, where="post", color=colour, ls=style, lw=1.0, label=label)
        else:
            xs, ys = _duty(t, values)
            ax.step(xs, ys, where="post", color=colour, ls=style, lw=1.0, label=label)
    if compare is not None:
        ct = _column(compare.trace, "t_s")
        xs, ys = _duty(ct, _column(compare.trace, "valve_open"))
        ax.step(xs, ys, where="post", color="#e67e22", lw=0.8, label="valve, open loop")
    ax.set_ylim(-0.05, 1.1)
    ax.set_ylabel("valve open\n(%s)" % ("0 or 1" if short else
                                       "share of each %.1f s" % DUTY_WINDOW_S))
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    ax.grid(alpha=0.3)


def _events(ax, t, trace):
    trigger = _column(trace, "trigger")
    ax.step(t, [0.8 * v for v in trigger], where="post", color="#34495e", lw=1.0,
            label="trigger held")
    beeps = [ti for ti, hz in zip(t, _column(trace, "tone_hz")) if hz]
    if beeps:
        ax.scatter(beeps, [1.0] * len(beeps), s=3, color="#8e44ad", label="beep")
    for a, b, code in _runs(t, _column(trace, "alarm")):
        if code:
            ax.plot([a, b], [1.25, 1.25], color="#c0392b", lw=3, solid_capstyle="butt")
            ax.annotate(alarms.name_of(code), (a, 1.3), fontsize=7, color="#c0392b",
                        va="bottom")
    ax.plot([], [], color="#c0392b", lw=3, label="alarm sounding (named)")
    ax.set_ylim(-0.1, 1.7)
    ax.set_yticks([])
    ax.set_ylabel("clinician", rotation=0, ha="right", va="center")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)


def _skin(ax, t, trace, lethal_c):
    """The skin on the left axis (C); on the right, how deep the ice and the lethal
    temperature reach (mm), drawn down from the surface as they grow into the skin."""
    ax.plot(t, _column(trace, "skin_c"), color="#d35400", lw=1.2,
            label="skin surface under the tip")
    ax.plot(t, _column(trace, "basal_c"), color="#7d3c98", lw=1.5,
            label="basal layer (melanocytes)")
    pigment_c = limits.PIGMENT_FLOOR_CC / 100.0
    ax.axhline(pigment_c, color="#7d3c98", lw=1.0, ls=":",
               label="melanocytes damaged below %.0f C" % pigment_c)
    ax.annotate("%.0f C: melanocytes damaged" % pigment_c, (0.005, pigment_c),
                xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points",
                fontsize=7, color="#7d3c98", va="bottom")
    ax.set_ylabel("skin (C)")
    ax.grid(alpha=0.3)
    depth = ax.twinx()
    depth.fill_between(t, 0, _column(trace, "ice_mm"), color="#85c1e9", alpha=0.45, lw=0,
                       label="ice depth (%.0f C isotherm)" % ICE_C)
    lethal = "%.0f C" % lethal_c if lethal_c is not None else "lethal temperature"
    depth.plot(t, _column(trace, "lethal_mm"), color="#1b2631", lw=1.2, ls="--",
               label="depth reaching %s (lethal)" % lethal)
    depth.set_ylabel("depth below the skin (mm)")
    depth.set_ylim(max([1.0] + _column(trace, "ice_mm")) * 1.6, 0.0)  # deeper is lower
    ax.set_zorder(depth.get_zorder() + 1)  # the temperatures over the ice's fill
    ax.patch.set_visible(False)
    lines, labels = ax.get_legend_handles_labels()
    more, more_labels = depth.get_legend_handles_labels()
    ax.legend(lines + more, labels + more_labels, loc="center left",
              bbox_to_anchor=(1.08, 0.5), fontsize=7, frameon=False)


def _lethal_c(result):
    """The lethal isotherm of the run's first application (the summary's), if any."""
    for a in result.summary.get("applications", ()):
        if "lethal_c" in a:
            return a["lethal_c"]
    return None


def plot(path, result, floor_c=None, compare=None):
    """compare: an optional second Result (the open-loop baseline) drawn on the same axes."""
    trace = result.trace
    t = _column(trace, "t_s")
    fig, (ax, axk, axs, axe, axv) = plt.subplots(
        5, 1, figsize=(12, 10), sharex=True,
        gridspec_kw={"height_ratios": [3.2, 2.0, 0.35, 0.8, 1.3]})
    ax.plot(t, _column(trace, "tip_c"), color="#1f4e9c", lw=1.8, label="tip (model)")
    ax.plot(t, _column(trace, "reading_c"), color="#f39c12", lw=0.9, ls="--",
            label="tip sensor 1 (reading)")
    ax.plot(t, _column(trace, "reading2_c"), color="#8e44ad", lw=0.9, ls=":",
            label="tip sensor 2 (reading)")
    target = _column(trace, "target_c")
    if target:
        ax.axhline(target[-1], color="#2a9d55", lw=1.0, ls="--",
                   label="target %.1f C" % target[-1])
    if floor_c is not None:
        ax.axhline(floor_c, color="#c0392b", lw=1.2, ls="-.", label="floor %.1f C" % floor_c)
    if compare is not None:
        ax.plot(_column(compare.trace, "t_s"), _column(compare.trace, "tip_c"), color="#e67e22",
                lw=1.3, label="tip, open loop")
    ax.set_ylabel("temperature (C)")
    ax.set_title("%s: profile %s" % (result.scenario.name, result.scenario.profile.name))
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    _skin(axk, t, trace, _lethal_c(result))
    _state_timeline(axs, t, _column(trace, "state"))
    _events(axe, t, trace)
    _valves(axv, t, trace, compare)
    axv.set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
