"""`cryopen montecarlo`: one application on each of N pens and patients, drawn at random.

Each sample is a pen (its cartridge's temperature, its nozzle's and tip's tolerances,
its two thermistor beads) and a patient (skin temperature, perfusion, epidermis), with
the plant's parameters drawn from DRAWS (docs/PLANT.md, "Monte Carlo", says why each),
and a contact pattern: most applications stay on the skin, LIFT_SHARE of them are
lifted once for 0.5 to 10 s at a random time. The trigger is pressed at PRESS_S and
held until the pen ends the application; the run stops AFTER_S later, once the checks
that follow an application (still cooling, valve proving) have run.

No fault is injected, so every fault the pen latches is a nuisance fault.

Sample i is drawn from its own generator, seeded with (seed, i): the same seed gives
the same figures whatever the number of jobs. Workers are forked from this process
after the model is imported (its N2O tables are read from build/, never CoolProp).
"""
import json
import math
import multiprocessing
import os
import sys
import time

import numpy as np

from firmware import limits, profiles, states
from host_tools.pens import flash_image
from host_tools.sim import outputs, plant as plant_mod, scenario as scenario_mod, simulator

PRESS_S = 0.2  # the pen is IDLE from its first tick; its readings have settled by then
# After the application ends: the still-cooling check (STILL_COOLING_MS, 3 s) and both
# valve-proving steps (PROVE_AFTER_MS + 2 x PROVE_STEP_MS, 3.6 s) have judged by then.
AFTER_S = (limits.PROVE_AFTER_MS + 2 * limits.PROVE_STEP_MS) / 1000.0 + 0.1
LIFT_SHARE = 0.2  # applications lifted once (our choice: most stay on the skin)
LIFT_S = (0.5, 10.0)  # how long a lift lasts, uniform (as in tests/host/test_contact_sweep.py)
LIFT_FROM_S = 0.5  # a lift starts this long after the press at the earliest
APPROACH_S = 6.0  # a lift starts no later than hold + this after the press (about the end)
MAX_N = 1000000
_DEFAULTS = dict((row[0], row[1]) for row in plant_mod.PARAMS)


def _around_default(name, sd_share, lo_share, hi_share):
    d = _DEFAULTS[name]
    return d, d * sd_share, d * lo_share, d * hi_share


# name, kind, parameters, why. "uniform" (lo, hi); "log_uniform" (lo, hi): uniform in
# the logarithm; "normal" (mean, sd, lo, hi): drawn again until within lo..hi. Every
# range lies inside the parameter's plausible range (plant.PARAMS); docs/PLANT.md,
# "Monte Carlo", has this table with the reasons.
DRAWS = (
    ("cartridge_c", "uniform", (5.0, 32.0),
     "a cold store room to a warm pocket (our choice); below the 36.4 C critical point"),
    ("nozzle_um", "normal", _around_default("nozzle_um", 0.025, 0.95, 1.05),
     "the nominal orifice, 2.5 % sd, within +-5 % (our choice)"),
    ("discharge_coeff", "normal", _around_default("discharge_coeff", 0.02 / 0.6, 0.55 / 0.6,
                                                  0.65 / 0.6),
     "sharp-edged orifice 0.61 (handbook); its edge's finish +-0.05 (our choice)"),
    ("tip_mass_g", "normal", _around_default("tip_mass_g", 0.03, 0.9, 1.1),
     "the nominal cap, 3 % sd, within +-10 % (our choice)"),
    ("bead1_r_pct", "uniform", (-3.0, 3.0),
     "the 3 % grade of NTC (SOURCES.md: 1, 3 and 5 %), even over its band (our choice)"),
    ("bead1_beta_pct", "uniform", (-2.0, 2.0),
     "B within 2 % (SOURCES.md: 1 to 3 %), even over its band (our choice)"),
    ("bead2_r_pct", "uniform", (-3.0, 3.0), "as bead1_r_pct, drawn on its own"),
    ("bead2_beta_pct", "uniform", (-2.0, 2.0), "as bead1_beta_pct, drawn on its own"),
    ("skin_c", "uniform", (32.0, 34.0), "resting skin surface, 32 to 34 C (plant.PARAMS)"),
    ("perfusion_per_s", "log_uniform", (0.0003, 0.005),
     "cool resting to warm skin, the usual range of skin models (our choice)"),
    ("epidermis_mm", "log_uniform", (0.05, 1.5),
     "face to palm and sole (histology texts, plant.PARAMS)"),
)
# Not drawn: tip_start_c is skin_c - 1 C (the tip has rested on that skin: the
# defaults' 33 and 32 C); every other parameter keeps its default.
TIP_BELOW_SKIN_C = 1.0

# figure key, label, unit: the percentiles reported (README, "Monte Carlo")
FIGURES = (("time_to_target_s", "time to target", "s"),
           ("overshoot_c", "overshoot below target", "C"),
           ("min_basal_c", "lowest basal layer", "C"),
           ("max_ice_mm", "ice depth", "mm"),
           ("max_lethal_mm", "lethal depth", "mm"),
           ("gas_used_g", "gas used", "g"))
PERCENTILES = (5, 50, 95)


class MonteCarloError(ValueError):
    pass


# --- one sample ----------------------------------------------------------------------

def _draw(rng, kind, args):
    if kind == "uniform":
        return rng.uniform(*args)
    if kind == "log_uniform":
        return math.exp(rng.uniform(math.log(args[0]), math.log(args[1])))
    mean, sd, lo, hi = args
    while True:
        x = rng.normal(mean, sd)
        if lo <= x <= hi:
            return x


def sample_doc(profile, seed, i):
    """Sample i's scenario (the public format, README "Scenario files") and its lift
    (start s, length s) or None."""
    rng = np.random.default_rng([seed, i])
    plant = dict((name, round(float(_draw(rng, kind, args)), 5)) for name, kind, args, _ in DRAWS)
    plant["tip_start_c"] = plant["skin_c"] - TIP_BELOW_SKIN_C
    prof = profiles.builtin(profile)
    contact_s = prof.contact_ms / 1000.0
    latest = contact_s - LIFT_FROM_S
    if prof.hold_ms:
        latest = min(latest, prof.hold_ms / 1000.0 + APPROACH_S)
    lift = None
    lifted = rng.uniform() < LIFT_SHARE
    at = round(PRESS_S + rng.uniform(LIFT_FROM_S, latest), 2)
    length = round(rng.uniform(*LIFT_S), 2)
    duration_s = PRESS_S + contact_s + AFTER_S + 1.0
    events = [{"t": PRESS_S, "trigger": True}]
    if lifted:
        lift = (at, length)
        events.append({"t": at, "contact": False})
        if at + length < duration_s:  # else the run has ended before the tip is back
            events.append({"t": round(at + length, 2), "contact": True})
    doc = {"name": "montecarlo %s seed %d sample %d" % (profile, seed, i), "profile": profile,
           "duration_s": duration_s, "plant": plant, "events": events}
    return doc, lift


class _Watch:
    """The run's `until`: the time to target as the pen reads it, and the end of the
    run AFTER_S after the application's."""

    def __init__(self, target_cc):
        self.limit_cc = target_cc + limits.AT_TARGET_CC
        self.at_target_ms = None
        self.at_end = None  # the application's figures as it ended

    def __call__(self, sim, t_ms):
        if self.at_target_ms is None:
            out = sim.app.pen.out
            if out.state == states.TREATING and min(out.temp1_cc, out.temp2_cc) <= self.limit_cc:
                self.at_target_ms = t_ms
        if not sim.apps:
            return False
        if self.at_end is None:  # the summary's application keeps its skin figures going
            self.at_end = dict(sim.apps[0])
        return t_ms >= sim.apps[0]["end_s"] * 1000 + AFTER_S * 1000 - 1e-6


def run_sample(profile, seed, i):
    """One pen, one patient, one application: a dict of its figures."""
    doc, lift = sample_doc(profile, seed, i)
    sc = scenario_mod.from_dict(doc)
    watch = _Watch(sc.profile.target_cc)
    summary = simulator.Simulation(sc, record=False, flash=_new_flash()).run(until=watch).summary
    apps = summary["applications"]
    app = apps[0] if apps else {}
    end = watch.at_end or app  # the depths at the end of the hold; the basal layer's lowest
    # over the run, which goes on cooling after it (the tip stays on the skin)
    target_c = sc.profile.target_cc / 100.0
    at = watch.at_target_ms
    return {
        "sample": i,
        "time_to_target_s": None if at is None else round(at / 1000.0 - PRESS_S, 2),
        "overshoot_c": round(max(0.0, target_c - summary["min_tip_c"]), 2),
        "min_basal_c": app.get("min_basal_c"),
        "max_ice_mm": _rounded(end.get("max_ice_mm"), 3),
        "max_lethal_mm": _rounded(end.get("max_lethal_mm"), 3),
        "gas_used_g": summary["gas_used_g"],
        "end_reason": app.get("end_reason", "none"),
        "faults": [(f["name"], f["t_s"]) for f in summary["faults"]],
        "lift": lift,
        "plant": doc["plant"],
    }


_BLANK = []


def _new_flash():
    """A new pen's flash, as flash_image.new_image() makes it: a copy of one formatted
    image (formatting fills half a MiB byte by byte, 5 ms a sample)."""
    if not _BLANK:
        _BLANK.append(bytes(flash_image.new_image()[1].buffer))
    return flash_image.mount_bytes(_BLANK[0])


def _rounded(value, digits):
    return None if value is None else round(value, digits)


def _work(job):
    return run_sample(*job)


def _imports_coolprop(_=None):
    """Whether this process has CoolProp loaded (a worker never should)."""
    return "CoolProp" in sys.modules


# --- the run -------------------------------------------------------------------------

class Progress:
    """'  412/1000 samples, 21 s' on stderr: rewritten in place on a terminal, else a
    line every few seconds and at the end."""

    def __init__(self, n, stream=None, every_s=None):
        self.n = n
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.every_s = every_s if every_s is not None else (0.5 if self.tty else 5.0)
        self.t0 = time.monotonic()
        self.shown_s = None

    def update(self, done):
        now = time.monotonic()
        if done < self.n and self.shown_s is not None and now - self.shown_s < self.every_s:
            return
        self.shown_s = now
        line = "  %d/%d samples, %d s" % (done, self.n, round(now - self.t0))
        if self.tty:
            self.stream.write("\r" + line + ("\n" if done == self.n else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def run_samples(profile, n, seed, jobs, progress=None):
    """The samples' figures in sample order."""
    tasks = [(profile, seed, i) for i in range(n)]
    results = [None] * n
    done = 0
    if jobs <= 1 or n == 1:
        for task in tasks:
            r = _work(task)
            results[r["sample"]] = r
            done += 1
            if progress:
                progress.update(done)
        return results
    ctx = multiprocessing.get_context("fork")  # the workers inherit the imported model
    with ctx.Pool(min(jobs, n)) as pool:
        for r in pool.imap_unordered(_work, tasks, chunksize=max(1, min(8, n // (8 * jobs)))):
            results[r["sample"]] = r
            done += 1
            if progress:
                progress.update(done)
    return results


def percentiles(values):
    """p5, p50, p95 (linear between the order statistics), min, max and how many."""
    values = [v for v in values if v is not None]
    if not values:
        return {"p5": None, "p50": None, "p95": None, "min": None, "max": None, "count": 0}
    a = np.array(values, dtype=float)
    out = dict(("p%d" % p, round(float(np.percentile(a, p)), 4)) for p in PERCENTILES)
    out.update({"min": round(float(a.min()), 4), "max": round(float(a.max()), 4),
                "count": len(values)})
    return out


def figures(profile, n, seed, results):
    """The run's figures (README, "Monte Carlo", lists the keys)."""
    fig = {}
    for key, label, unit in FIGURES:
        fig[key] = dict(percentiles([r[key] for r in results]), unit=unit)
    reasons = {}
    for r in results:
        reasons[r["end_reason"]] = reasons.get(r["end_reason"], 0) + 1
    faulted = [r for r in results if r["faults"]]
    by_name = {}
    for r in faulted:
        for name in sorted(set(f[0] for f in r["faults"])):
            by_name[name] = by_name.get(name, 0) + 1
    return {
        "profile": profile, "n": n, "seed": seed,
        "figures": fig,
        "not_at_target": sum(1 for r in results if r["time_to_target_s"] is None),
        "lifted": sum(1 for r in results if r["lift"]),
        "end_reasons": dict(sorted(reasons.items())),
        "nuisance_faults": {
            "samples": len(faulted),
            "rate": round(len(faulted) / float(n), 6),
            "on_skin": sum(1 for r in faulted if not r["lift"]),
            "lifted": sum(1 for r in faulted if r["lift"]),
            "by_name": dict(sorted(by_name.items())),
            "cases": [{"sample": r["sample"], "faults": [{"name": f, "t_s": t} for f, t in r["faults"]],
                       "lift": list(r["lift"]) if r["lift"] else None,
                       "end_reason": r["end_reason"], "plant": r["plant"]} for r in faulted],
        },
        "distributions": [{"name": name, "kind": kind, "args": [round(a, 6) for a in args],
                           "why": why} for name, kind, args, why in DRAWS],
    }


def table(doc):
    """The figures as text."""
    lines = ["%-24s %-4s %9s %9s %9s %9s %9s" % ("figure", "unit", "p5", "p50", "p95", "min",
                                                 "max")]
    for key, label, unit in FIGURES:
        f = doc["figures"][key]
        cells = ["%9s" % "-" if f[k] is None else "%9.3f" % f[k]
                 for k in ("p5", "p50", "p95", "min", "max")]
        lines.append("%-24s %-4s %s" % (label, unit, " ".join(cells)))
    n = doc["n"]
    lines.append("end reasons: " + ", ".join("%s %d" % kv for kv in doc["end_reasons"].items()))
    lines.append("lifted once: %d of %d; never at target: %d" % (doc["lifted"], n,
                                                                 doc["not_at_target"]))
    nf = doc["nuisance_faults"]
    lines.append("nuisance faults: %d of %d samples (%.2f %%)%s; %d on skin, %d lifted"
                 % (nf["samples"], n, 100.0 * nf["rate"],
                    "" if not nf["by_name"] else ": " + ", ".join(
                        "%s %d" % kv for kv in nf["by_name"].items()),
                    nf["on_skin"], nf["lifted"]))
    return lines


def plot(path, doc, results):
    """Histograms of the figures, the end reasons and the nuisance faults."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5))
    axes = axes.ravel()
    for ax, (key, label, unit) in zip(axes, FIGURES):
        values = [r[key] for r in results if r[key] is not None]
        f = doc["figures"][key]
        if values:
            ax.hist(values, bins=min(40, max(5, len(values) // 10)), color="#3b75af")
            for p, style in (("p5", ":"), ("p50", "-"), ("p95", ":")):
                ax.axvline(f[p], color="#c0392b", linestyle=style, linewidth=1)
        ax.set_xlabel("%s (%s)" % (label, unit))
        ax.set_ylabel("samples")
        ax.set_title("%s: p5 %s, p50 %s, p95 %s" % (label, _short(f["p5"]), _short(f["p50"]),
                                                     _short(f["p95"])), fontsize=9)
    ax = axes[len(FIGURES)]
    reasons = doc["end_reasons"]
    ax.bar(list(reasons), list(reasons.values()), color="#3b75af")
    ax.set_xlabel("end reason")
    ax.set_ylabel("samples")
    ax.set_title("how the application ended", fontsize=9)
    ax = axes[len(FIGURES) + 1]
    nf = doc["nuisance_faults"]
    if nf["by_name"]:
        ax.bar(list(nf["by_name"]), list(nf["by_name"].values()), color="#c0392b")
    else:
        ax.set_ylim(0, 1)
        ax.set_xticks([])
        ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("fault latched on a healthy pen")
    ax.set_ylabel("samples")
    ax.set_title("nuisance faults: %d of %d samples (%.2f %%)"
                 % (nf["samples"], doc["n"], 100.0 * nf["rate"]), fontsize=9)
    for ax in axes[len(FIGURES):len(FIGURES) + 2]:
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    fig.suptitle("Monte Carlo: profile %s, %d pens and patients, seed %d (red: p5, p50, p95)"
                 % (doc["profile"], doc["n"], doc["seed"]))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _short(v):
    return "-" if v is None else "%.3g" % v


# --- the command -----------------------------------------------------------------------

def add_arguments(p):
    p.add_argument("--profile", default="moderate", help="built-in profile (default moderate)")
    p.add_argument("--n", type=int, default=1000, help="samples: pens and patients (default 1000)")
    p.add_argument("--seed", type=int, default=1, help="the draws' seed (default 1)")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes (default: one per core, %d here)" % (os.cpu_count() or 1))
    p.add_argument("--json", metavar="FILE.json", help="write the figures as JSON")
    p.add_argument("--plot", metavar="FILE.png", help="histograms of the figures")


def check(args):
    """MonteCarloError for a bad argument, before any sample runs."""
    try:
        profiles.builtin(args.profile)
    except profiles.ProfileError as e:
        raise MonteCarloError("--profile: %s" % e)
    if not 1 <= args.n <= MAX_N:
        raise MonteCarloError("--n %d: give 1 to %d samples" % (args.n, MAX_N))
    if args.seed < 0:
        raise MonteCarloError("--seed %d: give 0 or more" % args.seed)
    if args.jobs is not None and args.jobs < 1:
        raise MonteCarloError("--jobs %d: give 1 or more" % args.jobs)
    try:
        for path, option in ((args.json, "--json"), (args.plot, "--plot")):
            if path:
                outputs.prepare(path, option)
    except outputs.OutputError as e:
        raise MonteCarloError(str(e))


def run(args):
    try:
        check(args)
    except MonteCarloError as e:
        print("cryopen montecarlo: %s" % e, file=sys.stderr)
        return 2
    jobs = args.jobs or os.cpu_count() or 1
    t0 = time.monotonic()
    results = run_samples(args.profile, args.n, args.seed, jobs, Progress(args.n))
    wall_s = time.monotonic() - t0
    doc = figures(args.profile, args.n, args.seed, results)
    print("cryopen montecarlo: profile %s, %d samples, seed %d, %d jobs, %.1f s"
          % (args.profile, args.n, args.seed, jobs, wall_s))
    for line in table(doc):
        print(line)
    try:
        if args.json:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(dict(doc, run={"jobs": jobs, "wall_s": round(wall_s, 1)}), f, indent=2)
                f.write("\n")
            print("wrote %s" % args.json)
        if args.plot:
            plot(args.plot, doc, results)
            print("wrote %s" % args.plot)
    except OSError as e:
        print("cryopen montecarlo: cannot write %s: %s" % (e.filename, e.strerror or e),
              file=sys.stderr)
        return 2
    return 0
