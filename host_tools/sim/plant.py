"""Lumped physical model of the pen: the tip, the N2O spray that cools it and
the skin under it. Host only (the simulator and the benchmark); it reads N2O's
properties from CoolProp's tables (host_tools/sim/n2o.py) at construction and uses
plain float arithmetic in step().

Every number, its unit, range and source is in PARAMS and in docs/PLANT.md.
Override any of them by name: Plant(**{"cartridge_c": 0.0}). A scenario's JSON
"plant" object is passed the same way.

Nodes: the tip (one heat capacity), the cartridge (mass of liquid left,
temperature fixed at cartridge_c), and the skin under and around the tip as the
resolved tissue of host_tools/sim/tissue.py (numpy), joined to the tip through its
TipLink.
"""
import math

from host_tools.sim import n2o

KELVIN = n2o.KELVIN
P_ATM_PA = n2o.P_ATM_PA

# name, default, unit, plausible min, plausible max, source (docs/PLANT.md has the detail)
PARAMS = (
    ("cartridge_g", 8.0, "g", 1.0, 100.0,
     "N2O cartridge fill; commercial pens use 16 and 23.5 g (SOURCES.md)"),
    ("cartridge_c", 20.0, "C", -20.0, 35.0,
     "cartridge temperature, fixed; below the 36.4 C critical point (SOURCES.md)"),
    ("room_c", 22.0, "C", 10.0, 30.0, "clinic room air"),
    ("skin_c", 33.0, "C", 28.0, 36.0, "resting skin surface, 32 to 34 C"),
    ("core_c", 37.0, "C", 36.0, 38.0, "body core and arterial blood"),
    ("handle_c", 28.0, "C", 15.0, 37.0,
     "pen handle in the clinician's hand, between room and skin (our choice)"),
    ("tip_start_c", 32.0, "C", -20.0, 40.0,
     "tip at the trigger: it has rested on the skin (our choice)"),
    ("tip_mass_g", 0.4, "g", 0.1, 20.0,
     "thin copper cap with its thermistor (our choice)"),
    ("tip_cp_j_per_g_k", 0.385, "J/g.K", 0.1, 1.0,
     "copper 0.385; aluminium 0.897 (handbook)"),
    ("tip_d_mm", 6.0, "mm", 1.0, 15.0, "contact face diameter (our choice)"),
    ("tip_air_area_mm2", 60.0, "mm2", 0.0, 1000.0,
     "tip surface exposed to room air (our choice)"),
    ("air_h_w_per_m2_k", 10.0, "W/m2.K", 2.0, 25.0,
     "natural convection in air, 2 to 25 (heat-transfer handbooks)"),
    ("nozzle_um", 22.0, "um", 10.0, 300.0,
     "orifice diameter, sets the flow and so the cartridge life (our choice)"),
    ("discharge_coeff", 0.6, "-", 0.1, 1.0,
     "sharp-edged orifice 0.61 (handbook)"),
    ("spray_efficiency", 0.95, "-", 0.05, 1.0,
     "share of the spray's cooling the closed tip takes up; vapour vents near tip temperature (our choice)"),
    ("spray_h_w_per_m2_k", 20000.0, "W/m2.K", 1000.0, 50000.0,
     "boiling spray on the tip's inner face; 2700 to 23000 from Aguilar 2001 (our choice within)"),
    ("epidermis_mm", 0.1, "mm", 0.05, 1.5,
     "0.1 mm on most skin, up to 1.5 mm on palms and soles (histology texts)"),
    ("k_epidermis_w_per_m_k", 0.21, "W/m.K", 0.15, 0.3, "SOURCES.md"),
    ("k_dermis_w_per_m_k", 0.33, "W/m.K", 0.29, 0.37, "SOURCES.md: 0.29 to 0.37"),
    ("tissue_cp_j_per_g_k", 3.4, "J/g.K", 3.2, 3.6, "SOURCES.md: 3.2 to 3.6"),
    ("tissue_density_kg_per_m3", 1100.0, "kg/m3", 1000.0, 1200.0, "soft tissue"),
    ("perfusion_per_s", 0.001, "1/s", 0.0, 0.01,
     "blood volume per tissue volume per second, Pennes model (our choice in the usual range)"),
    ("tissue_latent_j_per_g", 250.0, "J/g", 0.0, 334.0,
     "water 334 J/g times about 0.7 water in skin; 0 turns freezing off"),
    # The resolved tissue's own (host_tools/sim/tissue.py takes them from here).
    ("frozen_k_ratio", 3.0, "-", 1.0, 4.5,
     "frozen over unfrozen conductivity; ice 2.2, water 0.6 W/m.K (handbook); our choice"),
    ("frozen_cp_j_per_g_k", 1.9, "J/g.K", 1.5, 3.6,
     "unfrozen cp less 0.7 water times (water 4.18 - ice 2.05) J/g.K (handbook)"),
    ("lethal_c", -20.0, "C", -60.0, -5.0,
     "the isotherm lethal_mm follows unless the profile names one; benign lesions need "
     "-20 to -30 C (SOURCES.md)"),
    # Each tip sensor's bead against the board's nominal curve: this pen's parts, which a
    # bench calibration (cryopen calibrate) measures and corrects. 0 is a nominal part.
    ("bead1_r_pct", 0.0, "%", -5.0, 5.0,
     "sensor 1: resistance off nominal at 25 C; NTC grades 1, 3, 5 % (SOURCES.md)"),
    ("bead1_beta_pct", 0.0, "%", -3.0, 3.0,
     "sensor 1: beta off nominal; 1 to 3 % on datasheets (SOURCES.md)"),
    ("bead2_r_pct", 0.0, "%", -5.0, 5.0, "sensor 2: as bead1_r_pct"),
    ("bead2_beta_pct", 0.0, "%", -3.0, 3.0, "sensor 2: as bead1_beta_pct"),
)
_DEFAULTS = dict((row[0], row[1]) for row in PARAMS)
_BOUNDS = dict((row[0], (row[3], row[4])) for row in PARAMS)

BLOOD_RHO_CP = 1060.0 * 3770.0  # J/m3.K: blood density times specific heat (handbook)
GAS_GAMMA = 1.27  # N2O vapour cp/cv, ideal gas at room temperature (handbook)
# The nominal curve's beta between -30 and 25 C (boards/reference_pen.py's points:
# ln(9740 / 1000) / (1/243.15 - 1/298.15)), to turn a bead's error into degrees.
BEAD_BETA_K = 3000.0
BEAD_T0_K = 298.15
_INV_T0 = 1.0 / BEAD_T0_K
FREEZE_TOP_C = -1.0  # tissue freezes over this band; the latent heat is spread across it
FREEZE_BOTTOM_C = -8.0
TABLE_TOP_C = 60.0  # enthalpy tables run from the boiling point up to here, 1 K apart
# tissue_near_c and tissue_deep_c, read from the resolved tissue under the face: the
# lumped model's shells (a .. 1.5 a and 1.5 a .. 4 a, a = 1.9 mm) were about this deep.
NEAR_MM = 1.0
DEEP_MM = 5.0


def boiling_point_c():
    """N2O saturation temperature at 1 atm."""
    return n2o.BOIL_C


BOIL_C = boiling_point_c()


def saturation_bar(cartridge_c):
    return n2o.saturated(cartridge_c)["p_pa"] / 1e5


def enthalpy_j_per_g(tip_c, cartridge_c):
    """Cooling one gram of liquid can take up: vapour at the tip temperature and
    1 atm minus saturated liquid at the cartridge temperature."""
    liquid = n2o.saturated(cartridge_c)["h_liquid_j_per_kg"]
    return (n2o.vapour_h_1atm(tip_c) - liquid) / 1000.0


def gas_enthalpy_j_per_g(tip_c, cartridge_c):
    """The same for saturated vapour (pen tilted); zero once the tip is colder
    than the vapour gets by expanding to 1 atm."""
    vapour = n2o.saturated(cartridge_c)["h_vapour_j_per_kg"]
    return max(0.0, (n2o.vapour_h_1atm(tip_c) - vapour) / 1000.0)


def liquid_flow_g_per_s(area_m2, cartridge_c):
    """Liquid through an orifice of effective area Cd.A: Cd.A.sqrt(2 rho dP)."""
    rho = n2o.saturated(cartridge_c)["rho_liquid_kg_per_m3"]
    dp = saturation_bar(cartridge_c) * 1e5 - P_ATM_PA
    return area_m2 * math.sqrt(2.0 * rho * dp) * 1000.0


def gas_flow_g_per_s(area_m2, cartridge_c):
    """Saturated vapour through the same effective area, choked (ideal-gas formula)."""
    rho = n2o.saturated(cartridge_c)["rho_vapour_kg_per_m3"]
    p = saturation_bar(cartridge_c) * 1e5
    g = GAS_GAMMA
    choke = (2.0 / (g + 1.0)) ** ((g + 1.0) / (g - 1.0))
    return area_m2 * math.sqrt(g * rho * p * choke) * 1000.0


def checked_params(overrides):
    """Defaults with the overrides applied; an unknown name or a value outside its
    plausible range raises ValueError naming the parameter."""
    values = dict(_DEFAULTS)
    for name, value in overrides.items():
        if name not in _BOUNDS:
            raise ValueError("unknown plant parameter: %s" % name)
        lo, hi = _BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("plant parameter %s must be a number" % name)
        if not lo <= value <= hi:
            raise ValueError("plant parameter %s = %r outside %r..%r" % (name, value, lo, hi))
        values[name] = float(value)
    if not values["room_c"] < values["skin_c"] < values["core_c"]:
        raise ValueError("plant parameter skin_c must lie between room_c and core_c")
    return values


class Plant:
    """Call step(dt_s, valve_open) once per tick.

    Set: contact (tip on skin, default True), tilted (sprays gas, default False),
    lethal_c (the isotherm lethal_mm follows; the simulator sets the profile's).
    Read: tip_c, gas_used_g, gas_left_g, cartridge_c, pressure_bar,
    liquid_flow_g_per_s, gas_flow_g_per_s, boil_c; the skin: skin_c (its surface
    under the tip), basal_c, ice_mm, lethal_mm, tissue_near_c, tissue_deep_c and
    the tissue itself (tissue); and the tip's heat ledger: spray_heat_j (removed),
    skin_heat_j and air_heat_j (entered), with
    tip_heat_capacity_j_per_k * (tip_c - tip_start_c) == skin + air - spray.
    """

    def __init__(self, **overrides):
        p = checked_params(overrides)
        self._p = p
        self.boil_c = BOIL_C
        self.pressure_bar = saturation_bar(p["cartridge_c"])
        self.contact = True
        self.tilted = False
        self.tip_c = p["tip_start_c"]
        # Per bead: (ln(1 + r error) / beta, beta error), or None for a nominal part.
        self._beads = tuple(
            (math.log1p(p["bead%d_r_pct" % i] / 100.0) / BEAD_BETA_K, p["bead%d_beta_pct" % i]
             / 100.0) if p["bead%d_r_pct" % i] or p["bead%d_beta_pct" % i] else None
            for i in (1, 2))
        self.gas_left_g = p["cartridge_g"]
        self.gas_used_g = 0.0
        self.spray_heat_j = 0.0  # taken from the tip by the spray
        self.skin_heat_j = 0.0  # given to the tip by the skin (negative if the tip warms it)
        self.air_heat_j = 0.0  # given to the tip by the room air
        self._build_tip(p)
        self._build_spray(p)
        self._build_skin(p)
        self._h_max_s = 0.5 * self._tip_time_constant_s()

    def bead_c(self, sensor):
        """What sensor 1 or 2 reads at the tip's temperature through the nominal curve:
        its bead's resistance is R_nominal(T) (1 + r) exp(beta error * B (1/T - 1/T0)),
        and the nominal curve (locally 1/T = 1/T0 + ln(R/R0) / B) reads that as
        1/T' = 1/T + ln(1 + r) / B + beta error (1/T - 1/T0)."""
        bead = self._beads[sensor - 1]
        if bead is None:
            return self.tip_c
        inv_t = 1.0 / (self.tip_c + KELVIN)
        return 1.0 / (inv_t + bead[0] + bead[1] * (inv_t - _INV_T0)) - KELVIN

    @property
    def handle_c(self):
        return self._p["handle_c"]

    @property
    def cartridge_c(self):
        return self._p["cartridge_c"]

    # --- construction ----------------------------------------------------------
    def _build_tip(self, p):
        self.tip_heat_capacity_j_per_k = p["tip_mass_g"] * p["tip_cp_j_per_g_k"]
        self._inv_c_tip = 1.0 / self.tip_heat_capacity_j_per_k
        self._g_air = p["air_h_w_per_m2_k"] * p["tip_air_area_mm2"] * 1e-6
        self._room_c = p["room_c"]
        self._face_m2 = math.pi / 4.0 * (p["tip_d_mm"] * 1e-3) ** 2  # on skin outside, spray inside

    def _build_spray(self, p):
        cart_c = p["cartridge_c"]
        area = p["discharge_coeff"] * math.pi / 4.0 * (p["nozzle_um"] * 1e-6) ** 2
        self.liquid_flow_g_per_s = liquid_flow_g_per_s(area, cart_c)
        self.gas_flow_g_per_s = gas_flow_g_per_s(area, cart_c)
        self._g_spray = p["spray_h_w_per_m2_k"] * self._face_m2
        # Cooling power (W) the spray can deliver, tabulated over tip temperature.
        eff = p["spray_efficiency"]
        temps = [self.boil_c + i for i in range(int(TABLE_TOP_C - self.boil_c) + 1)]
        # enthalpy_j_per_g and gas_enthalpy_j_per_g, the cartridge's state looked up once
        sat = n2o.saturated(cart_c)
        liquid, vapour = sat["h_liquid_j_per_kg"], sat["h_vapour_j_per_kg"]
        h_tip = [n2o.vapour_h_1atm(t) for t in temps]
        self._liquid_cap_w = [eff * self.liquid_flow_g_per_s * ((h - liquid) / 1000.0)
                              for h in h_tip]
        self._gas_cap_w = [eff * self.gas_flow_g_per_s * max(0.0, (h - vapour) / 1000.0)
                           for h in h_tip]
        self._table_last = len(temps) - 1

    def _build_skin(self, p):
        """The resolved tissue under the tip, stepped every tissue.STEP_S through its
        TipLink (docs/PLANT.md, "The resolved tissue")."""
        from host_tools.sim import tissue  # it imports this module

        self.tissue = tissue.Tissue(p)
        self._link = tissue.TipLink(self.tissue)
        self._g_link_max = self.tissue.max_step_conductance_w_per_k(self._link.interval_s)

    def _tip_time_constant_s(self):
        """The tip's shortest time constant: its heat capacity over every conductance
        that can act on it at once (the tissue's at its largest, frozen)."""
        return 1.0 / (self._inv_c_tip * (self._g_spray + self._g_link_max + self._g_air))

    # --- the skin ----------------------------------------------------------------
    @property
    def skin_c(self):
        """The skin's surface under the tip: the tip's face in contact (no contact
        resistance), else the tissue's top cell on the axis."""
        return self.tip_c if self.contact else self.tissue.surface_c

    @property
    def basal_c(self):
        return self.tissue.basal_c

    @property
    def ice_mm(self):
        return self.tissue.ice_mm

    @property
    def lethal_mm(self):
        return self.tissue.lethal_mm

    @property
    def lethal_c(self):
        return self.tissue.lethal_c

    @lethal_c.setter
    def lethal_c(self, value):
        self.tissue.set_lethal_c(value)

    @property
    def tissue_near_c(self):
        """The mean of the tissue under the face down to 1 mm (the lumped model's near
        shell, which it replaces)."""
        return self.tissue.mean_under_face_c(0.0, NEAR_MM)

    @property
    def tissue_deep_c(self):
        """The mean of the tissue under the face from 1 to 5 mm (the lumped model's
        deep shell)."""
        return self.tissue.mean_under_face_c(NEAR_MM, DEEP_MM)

    # --- use -------------------------------------------------------------------
    def empty_cartridge(self):
        """No liquid left: the valve then gives no cooling."""
        self.gas_left_g = 0.0

    def new_cartridge(self):
        """A full cartridge of cartridge_g at cartridge_c. gas_used_g goes on counting
        over every cartridge."""
        self.gas_left_g = self._p["cartridge_g"]

    def step(self, dt_s, valve_open):
        """Advances by dt_s, in sub-steps short enough for the explicit update to stay stable."""
        if dt_s <= self._h_max_s:
            self._advance(dt_s, valve_open)
            return
        n = int(dt_s / self._h_max_s) + 1
        for _ in range(n):
            self._advance(dt_s / n, valve_open)

    def _advance(self, h, valve_open):
        t = self.tip_c
        p_spray = self._spray_w(t, h) if valve_open and self.gas_left_g > 0.0 else 0.0
        p_air = self._g_air * (self._room_c - t)
        p_skin = self._link.heat_w(h, t, self.contact)
        self.tip_c = t + h * (p_air + p_skin - p_spray) * self._inv_c_tip
        self.spray_heat_j += h * p_spray
        self.skin_heat_j += h * p_skin
        self.air_heat_j += h * p_air

    def _spray_w(self, t, h):
        """Cooling power taken from the tip over h; drains the cartridge."""
        if self.tilted:
            table, flow = self._gas_cap_w, self.gas_flow_g_per_s
        else:
            table, flow = self._liquid_cap_w, self.liquid_flow_g_per_s
        x = t - self.boil_c
        i = int(x)
        if i >= self._table_last:
            cap = table[self._table_last]
        else:
            cap = table[i] + (table[i + 1] - table[i]) * (x - i)
        # The spray boils at the boiling point: it cannot take heat faster than the
        # tip's face passes it, and nothing once the tip is there.
        power = min(cap, self._g_spray * x)
        used = flow * h
        left = self.gas_left_g
        if used > left:
            power *= left / used
            used = left
        self.gas_left_g = left - used
        self.gas_used_g += used
        return power
