"""Runs on the MicroPython WebAssembly interpreter (`node tests/mpy/run.mjs --exec`),
started by `cryopen bench`. Prints one JSON line: us per tick in steady TREATING,
heap bytes allocated per tick, and heap in use once the firmware is imported and
built. The phases run as STEPS, one interpreter call each: this port collects
garbage only between calls, and start-up garbage must not count as heap in use.
The bench tip is integer-only so that it allocates nothing itself."""
import gc
import json
import time

TICKS = 2000
LO_CC = -9000
bench = {}


def baseline():
    bench["heap_before"] = gc.mem_alloc()


def start_firmware():
    from boards.sim import board
    from firmware import pen as pen_mod, profiles

    bench["pen"] = pen_mod.build(board, profiles.builtin("very_long"))  # 30 s hold


def measure():
    from firmware import states

    heap = gc.mem_alloc() - bench["heap_before"]
    pen = bench["pen"]
    raw_of = [pen.thermistor.raw_for(cc) for cc in range(LO_CC, 4001, 5)]  # 5 cc steps
    tip = [3200, 0]  # cc, now

    def tick(trigger):
        out = pen.tick(tip[1], raw_of[(tip[0] - LO_CC) // 5], trigger, 0)
        tip[0] += (-8800 - tip[0]) // 60 if out.valve else (3200 - tip[0]) // 400
        tip[1] += 10

    for _ in range(20):
        tick(False)
    for _ in range(800):  # press and settle at target
        tick(True)
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    t0 = time.ticks_us()
    for _ in range(TICKS):
        tick(True)
    us = time.ticks_diff(time.ticks_us(), t0)
    allocated = gc.mem_alloc() - a
    gc.enable()
    if pen.out.state != states.TREATING:
        raise SystemExit("bench pen left TREATING")
    print(json.dumps({
        "us_per_tick_treating": round(us / TICKS, 1),
        "heap_bytes_per_tick_treating": allocated / TICKS,
        "heap_after_start_bytes": heap,
    }))


STEPS = [baseline, start_firmware, measure]
