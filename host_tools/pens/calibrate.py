"""`cryopen calibrate`: a bench calibration of the pen's two tip sensors.

The user puts the tip in two or three reference baths in turn (ice water, 0 C;
dry ice in ethanol, -78.5 C; room air against a reference thermometer). At each,
the tool reads both sensors' raw counts over the link until they are steady,
turns them into resistances through the board's divider, and fits Steinhart-Hart
(1/T = a + b ln R + c (ln R)^3) per sensor by least squares (numpy; with two
points, c stays the board's). A fit that is not monotonic over the pen's range,
whose residuals are implausible, or that reads more than the pen allows away
from the nominal curve (swapped baths, a bath that had warmed) is refused here,
and again by the pen (firmware/calibration.py). The coefficients take effect
only once the clinician confirms on the pen; the pen records the change.
"""
import importlib
import math
import sys
import time

from host_tools.pens.link_client import Expired, LinkError, PenLink, Refused

KELVIN = 273.15
# name -> (what to do, the bath's temperature, or None when a reference thermometer says)
BATHS = {"ice": ("ice water (crushed ice topped with water, stirred)", 0.0),
         "dry_ice": ("dry ice in ethanol", -78.5),
         "room": ("still room air, beside a reference thermometer", None)}
SAMPLES = 10  # readings per bath
SAMPLE_S = 0.1  # ten readings over a second
STEADY_C = 0.3  # the readings at a bath may spread this much at most
SETTLE_TRIES = 10  # SAMPLES readings this many times over, and the tool gives up on a bath
# A least-squares fit that leaves more than this is a bath that moved or a bad contact.
MAX_RESIDUAL_C = 0.3
SPAN_C = (-100.0, 60.0)  # where the fit must read one way only (the pen's readable range)
REPORT_C = (-80.0, 30.0)  # where the tool reports what the calibration changes


class CalibrationRefused(Exception):
    pass


DEFAULT_POINTS = ("ice", "dry_ice", "room")


def add_arguments(p):
    p.add_argument("--port", required=True, help="the pen's serial port")
    p.add_argument("--points", default=",".join(DEFAULT_POINTS),
                   help="the baths, in order, from %s (default: all three; two at least)"
                   % ", ".join(BATHS))


def run(args, link=None, ask=input):
    """ask: prompts the user and returns the line typed (tests hand in their own)."""
    names = [n.strip() for n in args.points.split(",") if n.strip()]
    unknown = [n for n in names if n not in BATHS]
    if unknown or len(set(names)) != len(names) or not 2 <= len(names) <= 3:
        print("cryopen calibrate: --points takes two or three different baths from %s; got %s"
              % (", ".join(BATHS), args.points), file=sys.stderr)
        return 2
    if link is None:
        try:
            link = PenLink(args.port)
        except LinkError as e:
            print("cryopen calibrate: %s" % e, file=sys.stderr)
            return 2
    with link:
        return calibrate(link, names, ask)


def calibrate(link, names, ask):
    """The whole calibration on an open link; the exit status."""
    try:
        return _calibrate(link, names, ask)
    except CalibrationRefused as e:
        print("cryopen calibrate: refused, nothing sent to the pen: %s" % e, file=sys.stderr)
        return 1
    except Refused as e:
        print("cryopen calibrate: the pen refused: %s" % e, file=sys.stderr)
        return 1
    except Expired:
        print("cryopen calibrate: nobody confirmed on the pen within its 10 s: nothing changed",
              file=sys.stderr)
        return 1
    except LinkError as e:
        print("cryopen calibrate: %s" % e, file=sys.stderr)
        return 2
    except EOFError:
        print("cryopen calibrate: stopped before the last bath: nothing changed", file=sys.stderr)
        return 1


def _calibrate(link, names, ask):
    board = _board(link.request("info")["board"])
    dividers = (board.DIVIDER_OHM, getattr(board, "DIVIDER2_OHM", board.DIVIDER_OHM))
    points = []  # (reference C, (ohms sensor 1, ohms sensor 2))
    for name in names:
        what, ref_c = BATHS[name]
        typed = ask("Put the tip in %s. When it has settled, press Enter%s: " % (
            what, "" if ref_c is not None else " after typing the thermometer's reading in C"))
        if ref_c is None:
            ref_c = _reference(typed)
        raws = _steady(link)
        points.append((ref_c, tuple(ohms(raw, d) for raw, d in zip(raws, dividers))))
        print("  %s: %.2f C reference, sensors %s ohm" % (
            name, ref_c, " / ".join("%.0f" % r for r in points[-1][1])))
    nominal = _nominal_coefficients(link)
    fits = []
    for i in (0, 1):
        sensor_points = [(t, r[i]) for t, r in points]
        coeffs = fit(sensor_points, nominal[i])
        check(coeffs, sensor_points, i + 1)
        fits.append(coeffs)
        worst, at = largest_change(nominal[i], coeffs)
        print("sensor %d: a=%.6e b=%.6e c=%.6e; residuals %s C; over %g..%g C it now reads up "
              "to %.2f C differently (at %.0f C)" % (
                  i + 1, coeffs[0], coeffs[1], coeffs[2], ", ".join(
                      "%+.3f" % r for r in residuals(coeffs, sensor_points)),
                  REPORT_C[0], REPORT_C[1], worst, at))
    doc = {"sensors": [{"a": a, "b": b, "c": c} for a, b, c in fits]}
    link.on_pending = lambda body: print(
        "on the pen: press the mode button within %s s to confirm the calibration"
        % body.get("confirm_s", 10), flush=True)
    import json

    link.request("calibration", "set", json.dumps(doc, separators=(",", ":")))
    print("calibration stored on the pen; it reads through it from the next power-up")
    return 0


def _board(name):
    try:
        return importlib.import_module("boards.%s.board" % name)
    except ImportError:
        raise LinkError("the pen says it is a %r board, which this tool does not know" % name)


def _reference(typed):
    try:
        c = float(typed)
    except ValueError:
        c = float("nan")
    if not -100.0 <= c <= 60.0:
        raise CalibrationRefused("the reference thermometer's reading must be a temperature "
                                 "from -100 to 60 C; got %r" % typed)
    return c


def _steady(link):
    """Both sensors' mean raw counts once the last SAMPLES readings agree within STEADY_C:
    a sliding window, so that the readings taken while the tip was still settling
    cost only their own time."""
    temps, raws = [], []
    for n in range(1, SETTLE_TRIES * SAMPLES + 1):
        doc = link.request("status")
        temps = temps[1 - SAMPLES:] + [doc["tip_c"]]
        raws = raws[1 - SAMPLES:] + [doc["raw"]]
        if len(temps) == SAMPLES:
            spread = max(max(t[i] for t in temps) - min(t[i] for t in temps) for i in (0, 1))
            if spread <= STEADY_C:
                return tuple(sum(r[i] for r in raws) / len(raws) for i in (0, 1))
            if n % SAMPLES == 0:
                print("  not steady yet (readings spread %.2f C); waiting" % spread, flush=True)
        time.sleep(SAMPLE_S)
    raise CalibrationRefused("the readings never settled within %.1f C" % STEADY_C)


def _nominal_coefficients(link):
    doc = link.request("calibration", "get")
    return [(s["a"], s["b"], s["c"]) for s in doc["sensors"]]


def ohms(raw, divider_ohm, full_scale=65535):
    """The bead's resistance from a 16-bit reading of the divider (thermistor to ground)."""
    if not 0 < raw < full_scale:
        raise CalibrationRefused("a sensor reads %d, at a rail: open or shorted" % raw)
    return divider_ohm * raw / (full_scale - raw)


def fit(points, nominal):
    """Steinhart-Hart (a, b, c) through (C, ohms) points by least squares; with fewer
    than three, c is the nominal curve's."""
    import numpy as np

    ln_r = np.log([r for _, r in points])
    y = 1.0 / (np.array([t for t, _ in points]) + KELVIN)
    if len(points) >= 3:
        m = np.column_stack([np.ones_like(ln_r), ln_r, ln_r ** 3])
        a, b, c = np.linalg.lstsq(m, y, rcond=None)[0]
    else:
        c = nominal[2]
        m = np.column_stack([np.ones_like(ln_r), ln_r])
        a, b = np.linalg.lstsq(m, y - c * ln_r ** 3, rcond=None)[0]
    return float(a), float(b), float(c)


def celsius(coeffs, r):
    a, b, c = coeffs
    ln_r = math.log(r)
    return 1.0 / (a + b * ln_r + c * ln_r ** 3) - KELVIN


def ohms_at(coeffs, t_c):
    """The resistance a curve gives at t_c (Newton on ln R)."""
    a, b, c = coeffs
    y = 1.0 / (t_c + KELVIN)
    ln_r = (y - a) / b
    for _ in range(30):
        ln_r -= (a + b * ln_r + c * ln_r ** 3 - y) / (b + 3.0 * c * ln_r ** 2)
    return math.exp(ln_r)


def residuals(coeffs, points):
    return [celsius(coeffs, r) - t for t, r in points]


def check(coeffs, points, sensor):
    """Refuses a fit that an NTC cannot have, or that does not pass through its points."""
    a, b, c = coeffs
    if not all(math.isfinite(v) for v in coeffs):
        raise CalibrationRefused("sensor %d: the fit failed" % sensor)
    temps = [t for t, _ in points]
    ohm = [r for _, r in points]
    order = sorted(range(len(points)), key=lambda k: temps[k])
    if any(ohm[order[k]] <= ohm[order[k + 1]] for k in range(len(order) - 1)):
        raise CalibrationRefused(
            "sensor %d: its resistance does not fall as the bath warms (%s): were the baths "
            "swapped?" % (sensor, ", ".join("%.1f C: %.0f ohm" % (temps[k], ohm[k]) for k in order)))
    # dT/d(ln R) < 0 everywhere in the pen's range: 1/T rises with ln R.
    for t in _grid(SPAN_C, 5.0):
        ln_r = math.log(ohms_at(coeffs, t))
        if b + 3.0 * c * ln_r * ln_r <= 0:
            raise CalibrationRefused("sensor %d: the fit is not monotonic near %.0f C" % (sensor, t))
    worst = max(abs(r) for r in residuals(coeffs, points))
    if worst > MAX_RESIDUAL_C:
        raise CalibrationRefused("sensor %d: the fit misses a bath by %.2f C (at most %.1f C): a "
                                 "bath that moved, or a bad contact" % (sensor, worst,
                                                                        MAX_RESIDUAL_C))


def largest_change(nominal, coeffs):
    """(largest |fit - nominal| in C over REPORT_C at the same resistance, where)."""
    worst, at = 0.0, REPORT_C[0]
    for t in _grid(REPORT_C, 1.0):
        d = abs(celsius(coeffs, ohms_at(nominal, t)) - t)
        if d > worst:
            worst, at = d, t
    return worst, at


def _grid(span, step):
    n = int(round((span[1] - span[0]) / step))
    return [span[0] + k * step for k in range(n + 1)]
