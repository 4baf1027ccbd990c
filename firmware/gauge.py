"""The cartridge gauge: the gas left, estimated from valve-open time. Pure and
allocation-free (integers well inside MicroPython's small-int range).

The pen cannot measure the gas: the cartridge's pressure says nothing until the
liquid is gone, and the flow through the nozzle rises with the cartridge's
temperature, which the pen does not know (docs/DESIGN.md, "The cartridge gauge").
So the estimate it shows uses the board's nominal flow, and the warning uses the
board's highest flow (the flow peaks near 31 C and falls again towards the critical
point): a pen that does not warn can finish its next application, whatever the
cartridge's temperature.
"""
from firmware.compat import const

UNKNOWN = const(-1)  # open_ms when the cartridge is not known (a lost or older stored state)
# The cartridges a board may declare (CARTRIDGE_MG): the project's 8 g and the 16 g of
# commercial pens (docs/SOURCES.md). A handpiece's chamber takes one size, so the board
# says which, and the clinician never has to.
SIZES_MG = (8000, 16000)
# A board's nominal flow within this, and its highest at most twice the nominal: the
# products in Gauge then stay small integers on MicroPython (no heap in the tick).
NOMINAL_MIN_MG_PER_S = const(5)
NOMINAL_MAX_MG_PER_S = const(50)


class Gauge:
    def __init__(self, size_mg=8000, flow_mg_per_s=15, flow_max_mg_per_s=16):
        """Defaults: the reference pen (boards/reference_pen.py), for a pen built
        without a board; firmware.pen.build passes the board's."""
        self.size_mg = size_mg
        self.flow = flow_mg_per_s
        self.flow_max = flow_max_mg_per_s
        # Counting stops where the nominal estimate reads empty, which bounds every product
        # below (open_ms * flow_max stays far under 2**30).
        self._empty_ms = (size_mg * 1000 + flow_mg_per_s - 1) // flow_mg_per_s
        self.open_ms = 0  # valve-open time since the cartridge was fitted; UNKNOWN: not known

    def fitted(self):
        """A new, full cartridge."""
        self.open_ms = 0

    def restore(self, open_ms):
        """The stored count after a power cut; UNKNOWN (or anything out of range) forgets."""
        self.open_ms = open_ms if 0 <= open_ms <= self._empty_ms else UNKNOWN

    def known(self):
        return self.open_ms >= 0

    def count(self, dt_ms):
        """Gas flowed for dt_ms (both valves commanded open)."""
        if 0 <= self.open_ms < self._empty_ms:
            self.open_ms += dt_ms
            if self.open_ms > self._empty_ms:
                self.open_ms = self._empty_ms

    def left_mg(self):
        """The estimate at nominal flow; 0 when empty, -1 when not known."""
        if self.open_ms < 0:
            return -1
        left = self.size_mg - self.open_ms * self.flow // 1000
        return left if left > 0 else 0

    def can_finish(self, need_ms):
        """Whether need_ms more of valve-open time fits in the cartridge at the highest
        flow. Not known: no (the warning sounds until a new cartridge is declared)."""
        if self.open_ms < 0:
            return False
        return (self.open_ms + need_ms) * self.flow_max <= self.size_mg * 1000

