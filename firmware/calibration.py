"""Per-pen calibration of the two tip sensors: Steinhart-Hart coefficients
(1/T = a + b ln R + c (ln R)^3, T in kelvin, R in ohms) for each bead, as a
bench calibration fits them. Pure, and independent of where it is stored.

A calibration is checked before anything uses it, against the board's nominal
curve (thermistor.model_from_board):
- monotonic: the resistance falls as the temperature rises (an NTC) over the
  readable range, -100..+60 C (limits.READ_MIN_CC..READ_MAX_CC), widened by a
  factor of two in resistance either side, so a reading near a range edge
  still converts one way only;
- plausible: at every 10 C of the readable range, no more than MAX_SHIFT_CC from
  the nominal curve at the same resistance. A bead that reads further off is damaged or
  the wrong part; a fit that does (swapped reference points, a typing error) is
  wrong. Either way the pen refuses it with the sensor, the coefficient or the
  temperature, and the limit.

    {"sensors": [{"a": 1.1e-3, "b": 3.2e-4, "c": 6.4e-8}, {"a": ..., "b": ..., "c": ...}]}

On the pen it is stored as two copies (hal/storage.py), each exactly SIZE bytes
(docs/RECORD.md is the reference), little-endian:

    0  4s magic b"CPCL"
    4  H  format version (VERSION)
    6  H  length of the body, bytes
    8  I  sequence number: of two valid copies the higher is the newer
   12  .. body: {"sensors": [...], "source": "pen" | "board"} as compact JSON
   ..  .. zero padding up to SIZE - 4
 1020  I  CRC32 of every byte before it

A copy that fails any check is refused with what failed; nothing here falls back
to another calibration (firmware/startup.py decides what the pen does then).
"""
import json
import math

from firmware import copies, limits, thermistor
from firmware.compat import const

SENSORS = const(2)  # both tip sensors, in the order of Pen.thermistor, Pen.thermistor2
# A thermistor of 1 % resistance and beta tolerance is already about 1 C off at -90 C
# uncalibrated; 10 C is beyond any part that works and inside what a wrong fit gives.
MAX_SHIFT_CC = const(1000)
_STEP_CC = const(1000)  # the plausibility check compares every 10 C of the range
_WIDEN = 2.0  # the resistance span checked, beyond the range's ends, as a factor
_KEYS = ("a", "b", "c")


class CalibrationError(ValueError):
    pass


class Calibration:
    """Checked coefficients: sensors is a tuple of (a, b, c) per sensor."""

    def __init__(self, sensors, source):
        self.sensors = sensors
        self.source = source  # "board": the board's nominal curve; "pen": a bench fit

    def as_dict(self):
        return {"sensors": [{"a": a, "b": b, "c": c} for a, b, c in self.sensors],
                "source": self.source}

    def model(self, i):
        """Sensor i's curve, for thermistor.Thermistor (which builds its table from it)."""
        a, b, c = self.sensors[i]
        return thermistor.SteinhartHart(a, b, c)


def nominal(board):
    """The board's own curve for both sensors (the calibration of an uncalibrated pen)."""
    m = thermistor.model_from_board(board)
    if not isinstance(m, thermistor.SteinhartHart):  # a beta curve: its Steinhart-Hart fit
        m = thermistor.fit_steinhart_hart([(t, m.ohms(t + thermistor.KELVIN))
                                           for t in (-90.0, -30.0, 25.0)])
    return Calibration(((m.a, m.b, m.c),) * SENSORS, "board")


def _number(d, where, key):
    if key not in d:
        raise CalibrationError("%s.%s is missing" % (where, key))
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise CalibrationError("%s.%s must be a number" % (where, key))
    v = float(v)
    if v - v != 0:  # NaN or an infinity
        raise CalibrationError("%s.%s must be a finite number" % (where, key))
    return v


def _span(model):
    """ln R at the warm and the cold end of the checked span, from the nominal curve."""
    kelvin = thermistor.KELVIN
    warm = math.log(model.ohms(limits.READ_MAX_CC / 100 + kelvin) / _WIDEN)
    cold = math.log(model.ohms(limits.READ_MIN_CC / 100 + kelvin) * _WIDEN)
    return warm, cold


def check(a, b, c, model, where="sensor"):
    """Refuses coefficients that are not monotonic or not plausible against model."""
    lo, hi = _span(model)
    # dy/dlnR = b + 3 c lnR^2 is a parabola in lnR: its least value over [lo, hi] lies
    # at an end, or at lnR = 0 when the span holds it. Positive there: monotonic.
    for ln_r in (lo, hi, 0.0):
        if (ln_r == 0.0 and not lo < 0.0 < hi) or b + 3.0 * c * ln_r * ln_r > 0:
            continue
        raise CalibrationError("%s: not monotonic at %.0f ohm: the resistance must fall as the "
                               "temperature rises over %d..%d C" % (
                                   where, math.exp(ln_r), limits.READ_MIN_CC // 100,
                                   limits.READ_MAX_CC // 100))
    kelvin = thermistor.KELVIN
    for cc in range(limits.READ_MIN_CC, limits.READ_MAX_CC + 1, _STEP_CC):
        ln_r = math.log(model.ohms(cc / 100 + kelvin))
        y = a + b * ln_r + c * ln_r * ln_r * ln_r
        if y <= 0:
            raise CalibrationError("%s: gives no temperature at %d C" % (where, cc // 100))
        reads = 1.0 / y - kelvin
        if abs(reads * 100 - cc) > MAX_SHIFT_CC:
            raise CalibrationError("%s: reads %.1f C at %d C, more than %d C from the board's "
                                   "curve (MAX_SHIFT_CC)" % (where, reads, cc // 100,
                                                             MAX_SHIFT_CC // 100))


def load(d, model):
    """A Calibration from its JSON form, checked against the nominal model."""
    if not isinstance(d, dict):
        raise CalibrationError("calibration must be an object")
    for key in d:
        if key not in ("sensors", "source"):
            raise CalibrationError("calibration: unknown key %s (known: sensors)" % key)
    sensors = d.get("sensors")
    if not isinstance(sensors, list) or len(sensors) != SENSORS:
        raise CalibrationError("calibration.sensors must list %d sensors" % SENSORS)
    out = []
    for i, s in enumerate(sensors):
        where = "calibration.sensors[%d]" % i
        if not isinstance(s, dict):
            raise CalibrationError("%s must be an object with a, b, c" % where)
        for key in s:
            if key not in _KEYS:
                raise CalibrationError("%s: unknown key %s (known: a, b, c)" % (where, key))
        a, b, c = (_number(s, where, k) for k in _KEYS)
        check(a, b, c, model, where)
        out.append((a, b, c))
    return Calibration(tuple(out), "pen")


# --- the stored form ---------------------------------------------------------------
MAGIC = b"CPCL"
VERSION = 1
_HEAD = copies.HEAD
HEAD_SIZE = copies.HEAD_SIZE
# Every copy is this long: beyond littlefs's inline limit on both ports (512 bytes at
# most), so it gets a data block of its own, where its own CRC finds damage. Kept
# inline, damage would make littlefs fall back, silently, to an older calibration.
SIZE = 1024
BODY_MAX = SIZE - HEAD_SIZE - 4
_SOURCES = ("pen", "board")


def encode(cal, seq):
    """One stored copy of the checked Calibration cal."""
    body = json.dumps(cal.as_dict(), separators=(",", ":")).encode()
    if len(body) > BODY_MAX:  # six numbers never come near; a guard, not a case
        raise CalibrationError("the calibration is %d bytes as JSON, over the %d a copy holds"
                               % (len(body), BODY_MAX))
    return copies.encode(MAGIC, VERSION, body, seq, SIZE)


def decode(data):
    """(the calibration as read, its sequence number) from one stored copy;
    CalibrationError saying what is wrong with the copy otherwise. Not checked
    against the nominal curve: read() does both."""
    if len(data) != SIZE:
        raise CalibrationError("%d bytes, not %d (cut short or not a calibration)"
                               % (len(data), SIZE))
    return copies.decode(data, MAGIC, VERSION, CalibrationError, "calibration")


def read(data, model):
    """(Calibration, seq) from one stored copy: decoded and checked against the
    nominal model like any calibration; CalibrationError otherwise."""
    d, seq = decode(data)
    cal = load(d, model)
    source = d.get("source", "pen")
    if source not in _SOURCES:
        raise CalibrationError("calibration.source: %r is not one of pen, board" % (source,))
    cal.source = source
    return cal, seq


class Stored:
    """The calibration the stored copies hold."""

    def __init__(self, cal, seq, data, whole):
        self.calibration = cal
        self.seq = seq
        self.data = data  # the copy it was read from, as stored
        self.whole = whole  # False: a copy is missing or older (a write cut between copies)


def choose(stored_copies, model):
    """The calibration in force from its copies, [(name, bytes or None where there is
    none)]: a Stored, or None when no copy exists (a pen never calibrated); a copy that
    fails is CalibrationError naming it (firmware/copies.py, choose)."""
    best = copies.choose(stored_copies, lambda data: read(data, model), CalibrationError)
    return None if best is None else Stored(*best)
