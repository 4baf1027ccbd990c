"""Runs on the MicroPython WebAssembly interpreter (`node tests/mpy/run.mjs --exec`),
started by `cryopen bench`. Prints one JSON line: us per tick in steady TREATING,
heap bytes allocated per tick, and heap in use after the firmware is imported
and built. The bench tip is integer-only so that it allocates nothing itself."""
import gc
import json
import time

gc.collect()
heap_before = gc.mem_alloc()

from boards.sim import board  # noqa: E402
from firmware import pen as pen_mod, profiles, states  # noqa: E402

pen = pen_mod.build(board, profiles.builtin("very_long"))  # 30 s hold: treating throughout
gc.collect()
heap_built = gc.mem_alloc() - heap_before

TICKS = 2000
LO_CC = -9000
raw_of = [pen.thermistor.raw_for(cc) for cc in range(LO_CC, 4001, 5)]  # 5 cc steps


class Tip:
    def __init__(self):
        self.cc = 3200
        self.now = 0

    def tick(self, trigger):
        out = pen.tick(self.now, raw_of[(self.cc - LO_CC) // 5], trigger, 0)
        if out.valve:
            self.cc += (-8800 - self.cc) // 60
        else:
            self.cc += (3200 - self.cc) // 400
        self.now += 10
        return out


tip = Tip()
for _ in range(20):
    tip.tick(False)
for _ in range(800):  # press and settle at target
    tip.tick(True)
if pen.out.state != states.TREATING:
    raise SystemExit("bench pen not treating")


def measure(trigger):
    gc.collect()
    gc.disable()
    a = gc.mem_alloc()
    t0 = time.ticks_us()
    for _ in range(TICKS):
        tip.tick(trigger)
    us = time.ticks_diff(time.ticks_us(), t0)
    b = gc.mem_alloc()
    gc.enable()
    return us / TICKS, (b - a) / TICKS


us_treating, bytes_treating = measure(True)
treating = pen.out.state == states.TREATING
print(json.dumps({
    "us_per_tick_treating": round(us_treating, 1),
    "heap_bytes_per_tick_treating": bytes_treating,
    "still_treating": treating,
    "heap_after_start_bytes": heap_built,
}))
