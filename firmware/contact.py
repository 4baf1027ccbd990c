"""Is the tip on skin? An estimate from what holding the target costs, made
while the trigger is held (docs/DESIGN.md, "Contact").

The tip's heat balance is C dT/dt = load - spray, where the spray takes a
known cooling rate from the tip while gas flows (the board's SPRAY_CC_PER_S,
the tip's rate at full flow in free air) and the load is what warms it: the
skin when the tip is on it, the room air always. So the load, as a warming rate,
is what the tip did plus what the spray took:

    load = dT/dt + spray(T) * valve          (cc/s)

On skin the load is the tissue's conductance times the difference from the
skin, 5 to 100 times the room air's; lifted, only the air is left. The test
divides the load by how far the tip lies below where it started (the driving
difference), so it needs no skin conductance, only a bound between air and the
thickest epidermis, and is the same at -50 C and at +4 C.

The spray is known to 20 or 30 % only (cartridge temperature, nozzle, discharge),
and with the valve held open that error is as large as a skin load. So each
application measures it first: over its first CAL_TO_MS, with the tip still near
the skin's temperature, the skin draws almost nothing, and what the tip does
then is the spray alone. The load is corrected by that error in proportion to the
valve's opening; what is left of the skin's pull in that window only makes the
load read lower, and is small beside the pull once the tip is 10 C colder.

Integer arithmetic only and nothing allocated: it runs in the control tick.
"""
from firmware.compat import const

# The load is filtered over this time constant: long enough that a step of the
# converter at -50 C (1.7 cc) moves it by 7 cc/s, short enough to see a lift
# within a second.
TAU_MS = const(250)
_SCALE = const(16)  # the filters keep four fractional bits
# The spray's error is measured between these times of the application, with the
# valve open: after the sensor has followed the first cooling (a bead's lag is
# 0.1 s or less in the copper cap), before the tip is 10 C below the skin.
CAL_FROM_MS = const(100)
CAL_TO_MS = const(400)
# No judgement until the tip is this far below where the spray was measured: until
# then the skin draws too little to tell from the air.
MIN_SPAN_CC = const(1500)
# After a load no spray could explain, no judgement for this long (three filter
# time constants: what is left of it is then 5 %).
BLANK_MS = const(900)
# The test, in per mille of the driving difference per second (load / span), with
# the valve closed; see _judge for its share at other openings. Room air on the
# reference tip: 10 W/m2.K over 60 mm2 = 0.6 mW/K on 0.154 J/K, 4 per mille/s, 6
# in a draught. Skin through 1.5 mm of sole epidermis: 3.3 mW/K, 21 per mille/s;
# through 0.1 mm, 100 and more. Air below AIR_BELOW_PM; skin again above it by
# SKIN_GAP_PM, so that the judgement does not flicker at the boundary.
AIR_BELOW_PM = const(11)
SKIN_GAP_PM = const(4)
# The spray's error as measured is believed to this share of the spray at most
# (per cent); a larger one is a start that was not as assumed (the tip already far
# below the skin), and only this much is corrected.
SPRAY_DOUBT_PCT = const(35)
_FULL = const(1000)
# A board's spray (boards/reference_pen.py SPRAY_CC_PER_S, SPRAY_SLOPE_PM) is refused
# outside these: slower than 5 C/s no pen reaches -50 C against skin, and the
# fastest is limits.MAX_COOL_CC_PER_S. The defaults are the reference pen's.
SPRAY_MIN_CC_PER_S = const(500)
SPRAY_SLOPE_MAX_PM = const(500)
_SPRAY_CC_PER_S = const(2370)
_SPRAY_SLOPE_PM = const(105)


class Contact:
    def __init__(self, spray_cc_per_s=_SPRAY_CC_PER_S, spray_slope_pm=_SPRAY_SLOPE_PM):
        """spray_cc_per_s: the tip's cooling rate at full flow in free air at -50 C;
        spray_slope_pm: how much faster per C warmer, in per mille of a cc/s per cc
        (the boiling spray takes more from a warmer tip)."""
        self.spray = spray_cc_per_s
        self.slope = spray_slope_pm
        self.reset(0)

    def reset(self, cc):
        """At each application start: the tip is taken to be on skin until the
        evidence says otherwise."""
        self.prev_cc = cc
        self.load = 0  # warming rate the tip's surroundings give it, cc/s x _SCALE
        self.opening = 0  # filtered valve opening, per mille x _SCALE
        self.tip = cc * _SCALE  # filtered tip: the span lags as the load does
        self.on_skin = True
        self.since_ms = 0
        self.ref_cc = cc  # where the driving difference is taken from
        self.measured = False  # the spray's error was measured: judgements may be made
        self.error = 0  # the spray's error at full flow, cc/s (positive: it is weaker)
        self.cal_cc = cc  # the window's start: every tick before CAL_FROM_MS sets it
        self.cal_open_ms = 0  # the valve's open time in the window, from CAL_FROM_MS
        self.trough = 0  # the lowest load since judged in air
        self.blank_ms = 0

    def spray_at(self, cc):
        """Cooling rate (cc/s) the spray gives the tip at cc, full flow, no load."""
        return self.spray + (cc + 5000) * self.slope // 1000

    def update(self, dt_ms, cc, flowed):
        """dt_ms since the last call, the tip now, and whether gas flowed in that
        time. Returns on_skin."""
        if dt_ms <= 0:
            return self.on_skin
        rate = (cc - self.prev_cc) * 1000 // dt_ms
        self.prev_cc = cc
        if flowed:
            rate += self.spray_at(cc)
            v = _FULL * _SCALE
        else:
            v = 0
        # A late tick moves the filters by one time constant at most, never past
        # their input. Every product stays a small int: the supervisor ends the
        # application on a reading that moves faster than MAX_RATE_CC_PER_S.
        k = dt_ms if dt_ms < TAU_MS else TAU_MS
        self.load += (rate * _SCALE - self.load) * k // TAU_MS
        self.opening += (v - self.opening) * k // TAU_MS
        self.tip += (cc * _SCALE - self.tip) * k // TAU_MS
        if self.since_ms < CAL_TO_MS:
            self._calibrate(dt_ms, cc, flowed)
            return self.on_skin
        self._judge(dt_ms)
        return self.on_skin

    def _calibrate(self, dt_ms, cc, flowed):
        """The spray's error: over the window the skin draws next to nothing, so the
        tip cools at the true spray's rate; the board's rate less that is the error."""
        since = self.since_ms
        self.since_ms = since + dt_ms
        if since < CAL_FROM_MS:
            self.cal_cc = cc
            self.cal_open_ms = 0
            return
        if flowed:
            self.cal_open_ms += dt_ms
        if self.since_ms < CAL_TO_MS:
            return
        span_ms = self.since_ms - CAL_FROM_MS
        if self.cal_open_ms < span_ms:
            # The valve closed in the window: a tip that started within a few degrees
            # of its target. Without the spray's error the load means nothing, and
            # the tip is taken to be on skin throughout, as without the estimate.
            return
        mid = (self.cal_cc + cc) // 2
        error = (cc - self.cal_cc) * 1000 // span_ms + self.spray_at(mid)
        most = self.spray * SPRAY_DOUBT_PCT // 100
        if error > most:
            error = most
        elif error < -most:
            error = -most
        self.error = error
        self.ref_cc = mid
        self.measured = True

    def corrected(self):
        """The filtered load less the spray's error in the filtered opening (x _SCALE)."""
        return self.load - self.error * (self.opening // _FULL) - (
            self.error * (self.opening % _FULL) // _FULL)

    def _judge(self, dt_ms):
        # Both sides of the ratio filtered alike: the load follows the span with the
        # filter's lag, and a lagging load against a current span would read low.
        span = self.ref_cc - self.tip // _SCALE
        if not self.measured or span < MIN_SPAN_CC:
            return
        load = self.corrected()
        if load < -self.spray * SPRAY_DOUBT_PCT // 100 * _SCALE:
            # The tip falls faster than any spray within the doubt could make it: the
            # reading does not follow the tip as this assumes. No judgement until the
            # filter has forgotten it.
            self.blank_ms = BLANK_MS
            return
        if self.blank_ms > 0:
            self.blank_ms -= dt_ms
            return
        # The load (x 1000 / span: per mille per second) against the air's bound,
        # which shrinks as the valve opens: what is left of the spray's error, and of
        # the skin's pull in the measuring window, grows with the opening, and at
        # full flow only a load below zero is taken for air.
        load_pm = load * 1000 // span
        closed = _FULL * _SCALE - self.opening
        air = AIR_BELOW_PM * closed // _FULL
        if self.on_skin:
            if load_pm < air:
                self.on_skin = False
                self.trough = load_pm
            return
        # Back on skin only on a load that rises: the filter's memory of the skin,
        # still fading after a lift, is not a landing.
        if load_pm < self.trough:
            self.trough = load_pm
        gap = SKIN_GAP_PM * _SCALE
        if load_pm > air + gap and load_pm > self.trough + gap:
            self.on_skin = True
