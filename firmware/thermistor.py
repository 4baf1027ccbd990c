"""Tip thermistor: ADC reading -> resistance -> temperature.

The divider is a fixed resistor from the reference to the ADC node and the
thermistor from the node to ground, so an open thermistor reads full scale and
a short reads zero. The float maths (logarithms, Steinhart-Hart) runs once at
start-up to fill a table; the tick only looks up and interpolates integers.
"""
import math
from array import array

from firmware import limits
from firmware.compat import const

KELVIN = 273.15
FULL_SCALE = const(65535)  # readings are scaled to 16 bits, like ADC.read_u16()
_SEG_SHIFT = const(6)  # 1024 table segments of 64 counts each
_SEG_MASK = const((1 << _SEG_SHIFT) - 1)
_SEGMENTS = const(FULL_SCALE >> _SEG_SHIFT)

OK = const(0)
OPEN = const(1)
SHORT = const(2)
RANGE = const(3)


class ThermistorError(ValueError):
    pass


class SteinhartHart:
    """1/T = a + b ln R + c (ln R)^3, T in kelvin. Keep c: it carries the cold end."""

    def __init__(self, a, b, c):
        self.a = a
        self.b = b
        self.c = c

    def kelvin(self, ohms):
        ln_r = math.log(ohms)
        return 1.0 / (self.a + self.b * ln_r + self.c * ln_r * ln_r * ln_r)

    def ohms(self, kelvin):
        # Newton on ln R from the beta-like first guess; the cubic term is a small correction.
        y = 1.0 / kelvin
        ln_r = (y - self.a) / self.b
        for _ in range(8):
            f = self.a + self.b * ln_r + self.c * ln_r * ln_r * ln_r - y
            ln_r -= f / (self.b + 3.0 * self.c * ln_r * ln_r)
        return math.exp(ln_r)


class Beta:
    """1/T = 1/T0 + ln(R/R0)/beta: the datasheet form, for parts with no calibration."""

    def __init__(self, r0_ohm, t0_c, beta):
        self.r0 = r0_ohm
        self.t0 = t0_c + KELVIN
        self.beta = beta

    def kelvin(self, ohms):
        return 1.0 / (1.0 / self.t0 + math.log(ohms / self.r0) / self.beta)

    def ohms(self, kelvin):
        return self.r0 * math.exp(self.beta * (1.0 / kelvin - 1.0 / self.t0))


def fit_steinhart_hart(points):
    """Coefficients from three (temperature C, ohms) calibration points."""
    if len(points) != 3:
        raise ThermistorError("Steinhart-Hart needs exactly three calibration points")
    l1, l2, l3 = [math.log(r) for _, r in points]
    y1, y2, y3 = [1.0 / (t + KELVIN) for t, _ in points]
    if len({l1, l2, l3}) != 3:
        raise ThermistorError("calibration points must have distinct resistances")
    g2 = (y2 - y1) / (l2 - l1)
    g3 = (y3 - y1) / (l3 - l1)
    c = (g3 - g2) / (l3 - l2) / (l1 + l2 + l3)
    b = g2 - c * (l1 * l1 + l1 * l2 + l2 * l2)
    a = y1 - (b + l1 * l1 * c) * l1
    return SteinhartHart(a, b, c)


def model_from_board(board):
    if getattr(board, "THERMISTOR_POINTS", None):
        return fit_steinhart_hart(board.THERMISTOR_POINTS)
    return Beta(board.THERMISTOR_R0_OHM, board.THERMISTOR_T0_C, board.THERMISTOR_BETA)


class Thermistor:
    """Converts a 16-bit reading to centi-degrees C without allocating.

    read() returns OK, OPEN, SHORT or RANGE and leaves the temperature in .cc.
    """

    def __init__(self, model, divider_ohm, adc_bits):
        if not 8 <= adc_bits <= 16:
            raise ThermistorError("adc_bits must be 8..16, got %d" % adc_bits)
        if divider_ohm <= 0:
            raise ThermistorError("divider_ohm must be positive")
        self.model = model
        self.divider_ohm = divider_ohm
        self.lsb = 1 << (16 - adc_bits)
        # Open/short: a resistance far beyond what the sensor has inside the
        # readable range (a quarter of the way from the range edge to the rail).
        cold = self.raw_for(limits.READ_MIN_CC)
        hot = self.raw_for(limits.READ_MAX_CC)
        self.open_raw = cold + (FULL_SCALE - cold) // 4
        self.short_raw = hot - hot // 4
        self.table = self._build_table()
        self.cc = 0

    def ohms_at(self, raw):
        ratio = raw / FULL_SCALE
        return self.divider_ohm * ratio / (1.0 - ratio)

    def celsius_at(self, raw):
        return self.model.kelvin(self.ohms_at(raw)) - KELVIN

    def raw_for(self, cc):
        """The reading the divider gives at a temperature (float maths: start-up and host only)."""
        r = self.model.ohms(cc / 100.0 + KELVIN)
        return int(FULL_SCALE * r / (r + self.divider_ohm) + 0.5)

    def _build_table(self):
        table = array("i", [0] * (_SEGMENTS + 2))
        for i in range(_SEGMENTS + 2):
            raw = min(max(i << _SEG_SHIFT, 1), FULL_SCALE - 1)
            table[i] = int(round(self.celsius_at(raw) * 100.0))
        return table

    def read(self, raw):
        if raw >= self.open_raw:
            return OPEN
        if raw <= self.short_raw:
            return SHORT
        i = raw >> _SEG_SHIFT
        lo = self.table[i]
        self.cc = lo + (((self.table[i + 1] - lo) * (raw & _SEG_MASK)) >> _SEG_SHIFT)
        if self.cc < limits.READ_MIN_CC or self.cc > limits.READ_MAX_CC:
            return RANGE
        return OK


def from_board(board, second=False, model=None):
    """Sensor 1, or with second=True sensor 2 (its own divider, see boards/reference_pen.py).
    model: the sensor's own curve (a bench calibration); None for the board's nominal one."""
    divider = board.DIVIDER2_OHM if second else board.DIVIDER_OHM
    return Thermistor(model or model_from_board(board), divider, board.ADC_BITS)
