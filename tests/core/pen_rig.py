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
    """tip_cc falls toward -88 C while the valve is open and drifts back toward
    skin temperature while closed; set cooling=False to model an empty cartridge."""

    def __init__(self, prof=None, start_ms=0, watchdog_reset=False, tip_cc=3200, boot=True):
        self.prof = prof or profile()
        self.t = start_ms
        self.pen = pen_mod.build(board, self.prof, start_ms, watchdog_reset)
        self.tip_cc = tip_cc
        self.cooling = True
        self.leak = False
        self.ramp = None  # (cc per tick down while flowing, cc per tick up while not)
        self.trigger = False
        self.hw = 0
        self.out = None
        if boot:  # one tick with the trigger released: the pen leaves BOOT
            self.tick()

    def raw(self):
        return self.pen.thermistor.raw_for(self.tip_cc)

    def tick(self, raw=None):
        """One control tick, then 10 ms of physics. Returns the outputs."""
        r = self.raw() if raw is None else raw
        self.out = self.pen.tick(self.t & TICKS_MASK, r, self.trigger, self.hw)
        flowing = (self.out.valve and self.cooling) or self.leak
        if self.ramp:
            self.tip_cc += -self.ramp[0] if flowing else self.ramp[1]
        elif flowing:
            self.tip_cc += (-8800 - self.tip_cc) // 60
        else:
            self.tip_cc += (3200 - self.tip_cc) // 400
        self.t += TICK
        return self.out

    def run_ms(self, ms, **kw):
        """Ticks for ms; returns the list of (time, valve) pairs where the valve was open."""
        opened = []
        for _ in range(ms // TICK):
            t = self.t
            if self.tick(**kw).valve:
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


def is_state(out, name):
    return states.STATE_NAMES[out.state] == name
