"""`cryopen simulate [SCENARIO.json]`: the firmware core against the physical model.

With no scenario it runs the built-in freeze-thaw-freeze demonstration and
writes out/trace.csv, out/summary.json and out/plot.png. Exit status 2 on a bad
scenario or profile, or an output that cannot be written (a directory, a plot
format matplotlib lacks): the simulation does not start. A missing folder for an
output is made.
"""
import json
import os
import sys

from host_tools.sim import outputs, scenario as scenario_mod, simulator

# Freeze, release at the end beep, 30 s thaw lockout, then the second freeze.
DEMO = {
    "name": "freeze-thaw-freeze demonstration",
    "profile": "ftf",
    "duration_s": 80,
    "plant": {},
    "events": [
        {"t": 1.0, "trigger": True},
        {"t": 20.0, "trigger": False},
        {"t": 51.0, "trigger": True},
        {"t": 68.0, "trigger": False},
    ],
}


def add_arguments(p):
    p.add_argument("scenario", nargs="?", help="scenario JSON file (default: built-in demo)")
    p.add_argument("--trace", metavar="FILE.csv", help="one row per tick")
    p.add_argument("--summary", metavar="FILE.json", help="applications, gas, faults")
    p.add_argument("--plot", metavar="FILE.png", help="temperature, target and valve")
    p.add_argument("--compare-open-loop", action="store_true",
                   help="also run the open-loop baseline and draw it on the plot")
    p.add_argument("--flash", metavar="IMAGE",
                   help="the pen's flash as a littlefs image: start from it and leave it "
                        "(a new one when the file does not exist)")
    p.add_argument("--screens", metavar="DIR",
                   help="the pen's display: each frame that differs from the one before, "
                        "as a PNG named by its time (012.34s.png)")


def run(args):
    try:
        if args.scenario:
            sc = scenario_mod.load(args.scenario)
        else:
            sc = scenario_mod.from_dict(DEMO)
            args.trace = args.trace or "out/trace.csv"
            args.summary = args.summary or "out/summary.json"
            args.plot = args.plot or "out/plot.png"
    except scenario_mod.ScenarioError as e:
        return _refuse(e)
    try:  # before the run: a path that cannot be written costs no simulation
        for path, option in ((args.trace, "--trace"), (args.summary, "--summary"),
                             (args.plot, "--plot")):
            if path:
                outputs.prepare(path, option)
        if args.flash and not os.path.exists(args.flash):
            outputs.prepare(args.flash, "--flash")
        if args.screens:
            from host_tools.sim import screens

            screens.prepare(args.screens)
    except outputs.OutputError as e:
        return _refuse(e)
    flash = None
    if args.flash:
        from host_tools.pens import flash_image

        try:
            flash = flash_image.load(args.flash, create=True)
        except flash_image.ImageError as e:
            return _refuse(e)
    sim = simulator.Simulation(sc, record=bool(args.trace or args.plot), flash=flash,
                               screens=bool(args.screens))
    result = sim.run()
    if flash is not None:
        try:
            flash_image.save(args.flash, flash[1])
        except flash_image.ImageError as e:
            return _refuse(e)
    baseline = None
    if args.compare_open_loop:
        from host_tools.sim import openloop

        baseline = simulator.run(sc, make_pen=openloop.build, record=True)
    try:
        if args.trace:
            outputs.write_trace(args.trace, result.trace, result.summary["applications"])
        if args.summary:
            outputs.write_summary(args.summary, result.summary)
        if args.plot:
            from host_tools.reports import plot

            plot.plot(args.plot, result, floor_c=sc.profile.floor_cc / 100.0, compare=baseline)
        frames = []
        if args.screens:
            frames = screens.write(args.screens, sim.screens.frames, sc.duration_s)
    except OSError as e:
        return _refuse("cannot write %s: %s" % (e.filename, e.strerror or e))
    print(json.dumps(_brief(result.summary), indent=2))
    for path in (args.trace, args.summary, args.plot):
        if path:
            print("wrote %s" % path)
    if args.screens:
        print("wrote %d screens to %s" % (len(frames), args.screens))
    return 0


def _refuse(problem):
    print("cryopen simulate: %s" % problem, file=sys.stderr)
    return 2


def _brief(summary):
    keys = ("scenario", "profile", "applications", "gas_used_g", "faults", "final_state",
            "max_valve_open_s")
    return {k: summary[k] for k in keys}
