"""One tip sensor's own checks: open, short, range, stale, stuck and rate. The
supervisor runs one of these per thermistor and cross-checks the two.

check() returns the fault bits this reading raises (0 if none) and keeps the
last good temperature in .cc. Allocates nothing.
"""
from firmware import alarms, limits, thermistor
from firmware.compat import ticks_diff

_NO_READING = -1


class TipSensor:
    def __init__(self, now_ms):
        self.status = thermistor.OK
        self.cc = 0
        self.have_reading = False
        self.fresh_ms = now_ms  # last reading of any kind
        self.ok_ms = now_ms  # last good reading, the base of the rate check
        self.last_raw = _NO_READING
        self.stuck_ms = 0

    def check(self, now_ms, dt_ms, raw, status, cc, valve):
        """This tick's reading (raw < 0: none arrived); valve: the command in force."""
        if raw < 0:
            if ticks_diff(now_ms, self.fresh_ms) > limits.STALE_MS:
                return alarms.F_STALE
            return 0
        bits = self._check_stuck(dt_ms, raw, valve)
        self.status = status
        self.fresh_ms = now_ms
        if status == thermistor.OPEN:
            return bits | alarms.F_OPEN
        if status == thermistor.SHORT:
            return bits | alarms.F_SHORT
        if status == thermistor.RANGE:
            return bits | alarms.F_RANGE
        if self.have_reading:
            bits |= self._check_rate(now_ms, cc)
        self.cc = cc
        self.ok_ms = now_ms
        self.have_reading = True
        return bits

    def _check_stuck(self, dt_ms, raw, valve):
        if raw != self.last_raw:
            self.stuck_ms = 0
            self.last_raw = raw
        elif valve:
            self.stuck_ms += dt_ms
            if self.stuck_ms >= limits.STUCK_MS:
                return alarms.F_STUCK
        return 0

    def _check_rate(self, now_ms, cc):
        dt = ticks_diff(now_ms, self.ok_ms) or 1  # two readings within one ms
        if dt > 1000:  # no tip moves 200 C in a second; keeps the product a small int
            dt = 1000
        if abs(cc - self.cc) * 1000 > limits.MAX_RATE_CC_PER_S * dt:
            return alarms.F_RATE
        return 0

    def clearable(self, now_ms, stuck_latched):
        """A fresh, plausible reading; after a stuck reading, one that has moved."""
        return (self.status == thermistor.OK and self.have_reading
                and ticks_diff(now_ms, self.fresh_ms) <= limits.STALE_MS
                and not (stuck_latched and self.stuck_ms))
