"""A pen on a bench: the real core, a simple first-order tip and a clock the test
controls. Runs under CPython and MicroPython alike."""
from boards.sim import board
from firmware import pen as pen_mod, profiles, states
from firmware.compat import TICKS_MASK

TICK = 10


def profile(name="moderate", **changes):
    for d in profiles.PROFILES:
        if d["name"] == name:
            d = dict(d)
            d.update(changes)
            return profiles.load(d)
    raise KeyError(name)


class Rig:
    """tip_cc falls toward -88 C while both valves are open and drifts back toward
    skin temperature otherwise; set cooling=False to model an empty cartridge,
    main_stuck or second_stuck for a valve stuck open, leak=True for gas that flows
    whatever the valves are told."""

    def __init__(self, prof=None, start_ms=0, watchdog_reset=False, tip_cc=3200, boot=True):
        self.prof = prof or profile()
        self.t = start_ms
        self.pen = pen_mod.build(board, self.prof, start_ms, watchdog_reset)
        self.tip_cc = tip_cc
        self.cooling = True
        self.leak = False
        self.offset2_cc = 0  # sensor 2 reads this much off the tip
        self.main_stuck = False  # a valve stuck open passes gas whatever it is told
        self.second_stuck = False
        self.ramp = None  # (cc per tick down while flowing, cc per tick up while not)
        self.trigger = False
        self.hw = 0
        self.out = None
        if boot:  # one tick with the trigger released: the pen leaves BOOT
            self.tick()

    def raw(self):
        return self.pen.thermistor.raw_for(self.tip_cc)

    def raw2(self, raw=None):
        """Sensor 2's reading of the same tip; given sensor 1's raw, what sensor 2
        reads at that temperature (rails and 'no reading' as they are)."""
        if raw is None:
            return self.pen.thermistor2.raw_for(self.tip_cc + self.offset2_cc)
        if raw <= 0 or raw >= 65535:
            return raw
        cc = int(round(self.pen.thermistor.celsius_at(raw) * 100))
        return self.pen.thermistor2.raw_for(cc)

    def tick(self, raw=None, raw2=None):
        """One control tick, then 10 ms of physics. Returns the outputs. raw: sensor 1's
        reading (default: the tip's); raw2: sensor 2's (default: it agrees with raw)."""
        r = self.raw() if raw is None else raw
        r2 = self.raw2(raw) if raw2 is None else raw2
        self.out = self.pen.tick(self.t & TICKS_MASK, r, r2, self.trigger, self.hw)
        out = self.out
        flowing = ((out.valve or self.main_stuck) and (out.master or self.second_stuck)
                   and self.cooling) or self.leak
        if self.ramp:
            self.tip_cc += -self.ramp[0] if flowing else self.ramp[1]
        elif flowing:
            self.tip_cc += (-8800 - self.tip_cc) // 60
        else:
            self.tip_cc += (3200 - self.tip_cc) // 400
        self.t += TICK
        return self.out

    def run_ms(self, ms, **kw):
        """Ticks for ms; returns the times at which gas could flow (both valves open)."""
        opened = []
        for _ in range(ms // TICK):
            t = self.t
            if flows(self.tick(**kw)):
                opened.append(t)
        return opened

    def state(self):
        return self.out.state

    def press(self):
        self.trigger = True
        return self.tick()

    def release(self):
        self.trigger = False
        return self.tick()


def flows(out):
    """Both valves commanded open: the gas path is open."""
    return out.valve and out.master


def is_state(out, name):
    return states.STATE_NAMES[out.state] == name
