"""Runs on the MicroPython WebAssembly interpreter (`node tests/mpy/run.mjs --exec`),
started by `cryopen bench`. Prints JSON lines: us per tick in steady TREATING,
heap bytes allocated per tick, and heap in use once the firmware is imported and
built; record and state writes; the worst loop iteration with the display. The phases run as STEPS, one interpreter call each: this port collects
garbage only between calls, and start-up garbage must not count as heap in use.
The bench tip is integer-only so that it allocates nothing itself."""
import gc
import json
import time

import micropython

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


def _storage(root):
    """The pen's storage in a folder of this port's in-memory file system."""
    import os

    from hal.storage import OsFs, Storage

    try:
        os.mkdir(root[:-1])
    except OSError:
        pass  # there already
    return Storage(OsFs(os, open), root)


def record_write():
    """A record append and a state write while IDLE, as the shell does them between
    ticks: wall time and heap, on this port's in-memory file system (on a pen the
    flash's program and erase time comes on top)."""
    from firmware import record, store

    storage = _storage("/bench_flash/")
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


class _BenchHal:
    """The HAL App.step calls, as cheap as can be, so that an iteration's time is the
    firmware's: a tip that cools 0.2 C a tick while gas flows and warms back, read
    from tables of both sensors' readings built once."""

    LO_CC = -9000
    STEP_CC = 10

    def __init__(self, pen):
        self.t = 0
        self.cc = 3200
        self.pressed = False
        self.valve_on = self.master_on = False
        cells = range(self.LO_CC, 4001, self.STEP_CC)
        self.raws = [pen.thermistor.raw_for(cc) for cc in cells]
        self.raws2 = [pen.thermistor2.raw_for(cc) for cc in cells]

    def now_ms(self):
        return self.t

    def conditions(self):
        return 0

    def mode(self):
        return False

    def reset_pressed(self):
        return False

    def trigger(self):
        return self.pressed

    def read_tip(self):
        return self.raws[(self.cc - self.LO_CC) // self.STEP_CC]

    def read_tip2(self):
        return self.raws2[(self.cc - self.LO_CC) // self.STEP_CC]

    def valve(self, on, backstop_ms):
        self.valve_on = on

    def master(self, on):
        self.master_on = on

    def tone(self, hz):
        pass

    def led(self, on):
        pass

    def feed_watchdog(self):
        pass

    def advance(self):
        self.t += 10
        if self.valve_on and self.master_on:
            self.cc = max(self.cc - 20, -8800)
        else:
            self.cc += (3200 - self.cc) // 200


DISPLAY_TICKS = 500  # 5 s: IDLE, 3.5 s of treatment, the rest
DISPLAY_RUNS = 3


def _clock_us():
    """A microsecond wall clock for single iterations (this port's ticks_us counts
    whole milliseconds): JavaScript's performance.now()."""
    try:
        import js

        now = js.performance.now
        return lambda: int(now() * 1000)
    except (ImportError, AttributeError):
        return time.ticks_us


class _BusyHost:
    """A host at the other end of the link that asks for the treatment record page after
    page (`log`), a new request as soon as the last reply has ended, and reads every
    byte at once: the link is never idle."""

    write_may_wait = False

    def __init__(self):
        self.request = b""
        self.pages = 0
        self.replied = 0

    def read_byte(self):
        if not self.request:
            if self.replied < self.pages:
                return -1
            self.pages += 1
            self.request = b"%d log %d 16\n" % (self.pages, (self.pages * 16) % 192)
        b = self.request[0]
        self.request = self.request[1:]
        return b

    def write(self, buf):
        self.replied += bytes(buf).count(b"\n")
        return len(buf)

    def close(self):
        pass


def _busy_link(pen, now_ms):
    """The host link with a `log` dump in progress, on a record of 200 entries."""
    from firmware import protocol, record
    from hal import link
    from boards.sim import board

    root = "/bench_link/"
    storage = _storage(root)
    if not storage.fs.listdir(root[:-1]):
        for i in range(200):
            storage.append(record.encode(record.APPLICATION, 1, 1000 * i, 0,
                                         (1, 1, 2, "moderate", 10000, -5025, -4000, 5000, 6000,
                                          90)))
    proto = protocol.Protocol(pen, board, records=link.PenRecords(storage))
    return link.Link(_BusyHost(), proto, now_ms)


def _loop(with_display, with_link=False):
    """App.step through IDLE, an application and its rest, the same
    iterations every run, with the link's share of each iteration when asked:
    (each iteration's us, what each did: 0 the tick alone, 1 it drew a frame, 2 it
    sent a page; frames drawn; ticks that allocated)."""
    from boards.sim import board
    from firmware import pen as pen_mod, profiles
    from firmware.app import App
    from hal import display as display_mod, fake_oled

    pen = pen_mod.build(board, profiles.builtin("very_long"), 0)
    hal = _BenchHal(pen)
    display = display_mod.Display(fake_oled.Bus()) if with_display else None
    app = App(hal, pen, display=display)
    busy = _busy_link(pen, hal.now_ms) if with_link else None
    tick = pen.tick

    def locked(now, raw, raw2, trigger, bits):
        # The tick alone, inside App.step, with the heap locked: a tick that allocated
        # would fail closed and count in pen.exceptions (gc.mem_alloc() walks the whole
        # heap, far too slow to call every tick).
        micropython.heap_lock()
        try:
            return tick(now, raw, raw2, trigger, bits)
        finally:
            micropython.heap_unlock()

    pen.tick = locked
    clock = _clock_us()
    times = []
    kinds = []
    out = None
    for i in range(DISPLAY_TICKS):
        hal.pressed = 50 <= i < 400
        frames = display.frames if display else 0
        pending = display.pending if display else 0
        t0 = clock()
        out = app.step()
        if busy is not None:
            busy.serve(hal.t + 10)  # as App.run does, before the next tick's deadline
        times.append(clock() - t0)
        kind = 0
        if display and display.frames != frames:
            kind = 1
        elif display and pending:
            kind = 2
        kinds.append(kind)
        hal.advance()
    if out.fault and not pen.exceptions:
        raise SystemExit("the display bench's pen faulted")
    if busy is not None and busy.port.replied < 3:
        raise SystemExit("the link bench's host got %d log pages" % busy.port.replied)
    return times, kinds, display.frames if display else 0, pen.exceptions


def _fastest(with_display, with_link=False):
    """Each iteration's time as the fastest of DISPLAY_RUNS runs, after one run that
    warms the interpreter up: a busy host preempts some iteration in a run, hardly
    the same one in every run."""
    _loop(with_display, with_link)
    best = None
    allocated = 0
    for _ in range(DISPLAY_RUNS):
        times, kinds, frames, allocating = _loop(with_display, with_link)
        best = times if best is None else [min(a, b) for a, b in zip(best, times)]
        allocated += allocating
    return best, kinds, frames, allocated


def display_loop():
    """The worst loop iteration with the display drawing and sending, against the same
    loop without one, and the ticks that allocated meanwhile. On a pen each page
    adds its bus time, 2.9 ms at 400 kHz, which the fake bus does not take."""
    plain = _fastest(False)[0]
    times, kinds, frames, allocating = _fastest(True)
    print(json.dumps({
        "worst_loop_us": max(plain),
        "worst_loop_with_display_us": max(times),
        "worst_display_draw_us": max(t for t, k in zip(times, kinds) if k == 1),
        "worst_display_page_us": max(t for t, k in zip(times, kinds) if k == 2),
        "display_frames": frames,
        "ticks_allocating_with_display": allocating,
    }))


def link_loop():
    """The worst loop iteration with the host link busy (a `log` dump in progress: a page
    of the record read from flash, streamed out 64 bytes an iteration), and the ticks
    that allocated meanwhile."""
    times, _, _, allocating = _fastest(False, True)
    print(json.dumps({"worst_loop_with_link_us": max(times),
                      "ticks_allocating_with_link": allocating}))


STEPS = [baseline, start_firmware, measure, record_write, display_loop, link_loop]
