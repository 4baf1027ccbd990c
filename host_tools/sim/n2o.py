"""Nitrous oxide's properties for the physical model: CoolProp's, kept in a table.

Importing CoolProp takes about 6 s (it loads every fluid it knows), and every
process that built a Plant paid it: each pytest worker, each `cryopen simulate`,
each virtual pen, each Monte Carlo worker. The Plant needs few properties, so the
first process computes them with CoolProp on fixed grids and writes them to
build/n2o-<CoolProp version>.json; later ones read that file in milliseconds and
never import CoolProp.

- At 1 atm: the boiling point, and the vapour's enthalpy at BOIL_C + i / STEPS_PER_K
  up to VAPOUR_TOP_C (saturated vapour at and below the boiling point), linear in
  between.
- Saturated at the cartridge's temperature: pressure, the liquid's and the vapour's
  enthalpy and density, every 1 / STEPS_PER_K K from CART_MIN_C to CART_MAX_C (the
  Plant's range for cartridge_c), linear in between.

tests/host/test_n2o.py holds every value within TOLERANCE of CoolProp at points
between the knots.
"""
import json
import os
from importlib import metadata

from host_tools import paths

FLUID = "NitrousOxide"
KELVIN = 273.15
P_ATM_PA = 101325.0
STEPS_PER_K = 20  # knots 0.05 K apart
VAPOUR_TOP_C = 100.0
CART_MIN_C = -20.0
CART_MAX_C = 35.0  # below the critical point, 36.4 C
TOLERANCE = 1e-4  # relative, of each property between the knots
FORMAT = 1  # what the file holds and how: raised when _compute() changes
SATURATED = ("p_pa", "h_liquid_j_per_kg", "h_vapour_j_per_kg", "rho_liquid_kg_per_m3",
             "rho_vapour_kg_per_m3")


def _compute():
    """The tables, from CoolProp."""
    from CoolProp.CoolProp import PropsSI

    boil_k = PropsSI("T", "P", P_ATM_PA, "Q", 0, FLUID)
    h_sat_vapour = PropsSI("H", "P", P_ATM_PA, "Q", 1, FLUID)
    n = int((VAPOUR_TOP_C - (boil_k - KELVIN)) * STEPS_PER_K) + 2
    # The first knot is the boiling point itself: PropsSI at (T, P) there is two-phase.
    vapour = [h_sat_vapour] + [PropsSI("H", "T", boil_k + i / STEPS_PER_K, "P", P_ATM_PA, FLUID)
                               for i in range(1, n)]
    m = int(round((CART_MAX_C - CART_MIN_C) * STEPS_PER_K)) + 1
    saturated = []
    for i in range(m):
        t_k = CART_MIN_C + KELVIN + i / STEPS_PER_K
        saturated.append([PropsSI("P", "T", t_k, "Q", 0, FLUID),
                          PropsSI("H", "T", t_k, "Q", 0, FLUID),
                          PropsSI("H", "T", t_k, "Q", 1, FLUID),
                          PropsSI("D", "T", t_k, "Q", 0, FLUID),
                          PropsSI("D", "T", t_k, "Q", 1, FLUID)])
    return {"format": FORMAT, "fluid": FLUID, "steps_per_k": STEPS_PER_K, "boil_c": boil_k - KELVIN,
            "vapour_h_1atm_j_per_kg": vapour, "cartridge_min_c": CART_MIN_C,
            "saturated": saturated}


def _path():
    return os.path.join(str(paths.ROOT), "build", "n2o-%s.json" % metadata.version("CoolProp"))


def _load():
    path = _path()
    try:
        with open(path) as f:
            doc = json.load(f)
        if (doc.get("format"), doc.get("fluid"), doc.get("steps_per_k"),
                doc.get("cartridge_min_c")) == (FORMAT, FLUID, STEPS_PER_K, CART_MIN_C):
            return doc
    except (OSError, ValueError, AttributeError):
        pass  # none yet, or not this table: computed again
    doc = _compute()
    try:  # written whole, then renamed: a process reading it never sees half a file
        os.makedirs(os.path.dirname(path), exist_ok=True)
        part = "%s.%d" % (path, os.getpid())
        with open(part, "w") as f:
            json.dump(doc, f)
        os.replace(part, path)
    except OSError:
        pass  # a read-only tree: this process keeps the table in memory
    return doc


_TABLE = _load()
BOIL_C = _TABLE["boil_c"]
_VAPOUR = _TABLE["vapour_h_1atm_j_per_kg"]
_SATURATED = _TABLE["saturated"]


def _between(table, x):
    """Linear between the knots of table, x in knots from its first."""
    i = int(x)
    if i >= len(table) - 1:
        i = len(table) - 2
    f = x - i
    return table[i], table[i + 1], f


def vapour_h_1atm(tip_c):
    """J/kg of vapour at 1 atm and tip_c; at or below the boiling point, saturated."""
    if tip_c <= BOIL_C:
        return _VAPOUR[0]
    if tip_c > VAPOUR_TOP_C:
        raise ValueError("N2O vapour table: %.2f C is above its top, %.0f C"
                         % (tip_c, VAPOUR_TOP_C))
    a, b, f = _between(_VAPOUR, (tip_c - BOIL_C) * STEPS_PER_K)
    return a + (b - a) * f


def saturated(cartridge_c):
    """Saturated N2O at cartridge_c: a dict of SATURATED's names (SI units)."""
    if not CART_MIN_C <= cartridge_c <= CART_MAX_C:
        raise ValueError("N2O saturation table: %.2f C is outside %.0f..%.0f C"
                         % (cartridge_c, CART_MIN_C, CART_MAX_C))
    a, b, f = _between(_SATURATED, (cartridge_c - CART_MIN_C) * STEPS_PER_K)
    return dict((name, a[k] + (b[k] - a[k]) * f) for k, name in enumerate(SATURATED))
