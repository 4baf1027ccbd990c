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
    raw2_of = [pen.thermistor2.raw_for(cc) for cc in range(LO_CC, 4001, 5)]
    tip = [3200, 0]  # cc, now

    def tick(trigger):
        i = (tip[0] - LO_CC) // 5
        out = pen.tick(tip[1], raw_of[i], raw2_of[i], trigger, 0)
        gas = out.valve and out.master
        tip[0] += (-8800 - tip[0]) // 60 if gas else (3200 - tip[0]) // 400
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


def record_write():
    """A record append and a state write while IDLE, as the shell does them between
    ticks: wall time and heap, on this port's in-memory file system (on a pen the
    flash's program and erase time comes on top)."""
    import os

    from firmware import record, store
    from hal.storage import OsFs, Storage

    root = "/bench_flash/"
    try:
        os.mkdir(root[:-1])
    except OSError:
        pass
    storage = Storage(OsFs(os, open), root)
    data = record.encode(record.APPLICATION, 1, 1000, 0,
                         (1, 1, 2, "moderate", 10000, -5025, -4000, 5000, 6000, 90))
    state = store.State(1, 0, 1, 1, True, 20000, 5000, "moderate")
    storage.append(data)  # the ring is found once, at the first append
    figures = {}
    for name, write, arg in (("record", storage.append, data),
                             ("state", storage.save_state, state)):
        gc.collect()
        a = gc.mem_alloc()
        t0 = time.ticks_us()
        n = 20
        for _ in range(n):
            write(arg)
        figures[name + "_write_us"] = round(time.ticks_diff(time.ticks_us(), t0) / n, 1)
        figures[name + "_write_heap_bytes"] = (gc.mem_alloc() - a) // n
    print(json.dumps(figures))


STEPS = [baseline, start_firmware, measure, record_write]
