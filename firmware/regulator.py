"""Closed-loop valve control: PI on the tip temperature, then a duty modulator
that honours the valve's minimum on and off times.

Integer arithmetic only: duty is in per mille, temperatures in centi-C, time in
ms. The supervisor keeps the last word; this only says what the loop wants.
"""
from firmware.compat import const

_FULL = const(1000)  # duty per mille
_I_SCALE = const(1000)  # integrator holds duty * _I_SCALE for sub-per-mille resolution
_I_BAND_CC = const(300)  # integrate only within 3 C of target: no charge during the approach


class Regulator:
    def __init__(self, kp, ki, ff, min_on_ms, min_off_ms):
        """kp: per mille of duty per C of error. ki: per mille per C-second.
        ff: per mille per C that the target lies below the starting tip temperature,
        a feed-forward for the duty that holds the target against the skin."""
        self.kp = kp
        self.ki = ki
        self.ff = ff
        self.min_on_ms = min_on_ms
        self.min_off_ms = min_off_ms
        self.acc_limit = _FULL * (min_on_ms + min_off_ms)
        self.reset(0)

    def reset(self, start_cc):
        """Called at each application start: no wound-up state carries over."""
        self.start_cc = start_cc
        self.integ = 0
        self.acc = 0
        self.open = False
        self.since_ms = self.min_off_ms
        self.duty = 0

    def update(self, dt_ms, temp_cc, target_cc):
        err = temp_cc - target_cc  # positive: too warm, cool harder
        base = (self.start_cc - target_cc) * self.ff // 100
        if base < 0:
            base = 0
        p = err * self.kp // 100
        u = base + p + self.integ // _I_SCALE
        # Conditional integration: only near target, and never while pinned at a rail.
        if -_I_BAND_CC < err < _I_BAND_CC and (u < _FULL or err < 0) and (u > 0 or err > 0):
            self.integ += err * self.ki * dt_ms // 100
            if self.integ > _FULL * _I_SCALE:
                self.integ = _FULL * _I_SCALE
            elif self.integ < -_FULL * _I_SCALE:
                self.integ = -_FULL * _I_SCALE
            u = base + p + self.integ // _I_SCALE
        if u > _FULL:
            u = _FULL
        elif u < 0:
            u = 0
        self.duty = u
        return self._modulate(dt_ms, u)

    def _modulate(self, dt_ms, duty):
        # First-order sigma-delta: the valve's mean opening equals the duty.
        self.since_ms += dt_ms
        self.acc += duty * dt_ms
        if self.open:
            self.acc -= _FULL * dt_ms
            if self.acc < 0 and self.since_ms >= self.min_on_ms:
                self.open = False
                self.since_ms = 0
        elif self.acc > 0 and self.since_ms >= self.min_off_ms:
            self.open = True
            self.since_ms = 0
        if self.acc > self.acc_limit:
            self.acc = self.acc_limit
        elif self.acc < -self.acc_limit:
            self.acc = -self.acc_limit
        return self.open
