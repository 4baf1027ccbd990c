"""The resolved tissue under the tip (host_tools/sim/tissue.py) against the analytical
solution of the Stefan problem, the field's figures and its own energy ledger; the
ranges and their reasoning are in docs/PLANT.md, "The resolved tissue". The key
figures are printed at the end of every run (TERMINAL_SUMMARY)."""
import math
import os
import re
import time

import pytest

from host_tools.sim import tissue
from host_tools.sim.tissue import TipLink, Tissue

TERMINAL_SUMMARY = []
DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "PLANT.md")
TICK_S = 0.01  # the simulator's tick

# The Neumann check: one dimension (the slab), no blood, one conductivity through the
# epidermis and the dermis, a narrow freezing band standing for a melting point.
NEUMANN = {"perfusion_per_s": 0.0, "k_epidermis_w_per_m_k": 0.3, "k_dermis_w_per_m_k": 0.3,
           "skin_c": 35.9, "core_c": 36.0}
NEUMANN_BAND_C = (-1.5, -1.0)
NEUMANN_STEP_S = 0.1
SURFACE_C = -50.0

# A tip for the coupling checks: the Plant's copper cap and its spray in brief (docs/PLANT.md,
# "The spray" and "The tip"), regulated on and off at the tick like the firmware's.
TIP_J_PER_K = 0.3 * 0.385
BOIL_C = -88.47
SPRAY_W_PER_K = 10000.0 * math.pi / 4.0 * 0.006 ** 2
SPRAY_MAX_W = 2.4  # about what 15 mg/s of N2O from a 20 C cartridge gives the tip at -50 C


# --- the Neumann solution ------------------------------------------------------

def neumann_lambda(k_s, c_s, k_l, c_l, latent, surface_c, melt_c, initial_c):
    """The growth constant of the two-phase Neumann solution: a semi-infinite liquid at
    initial_c whose surface is held at surface_c freezes, the front at 2 lambda
    sqrt(alpha_s t). Volumetric heat capacities and latent heat."""
    a_s, a_l = k_s / c_s, k_l / c_l
    nu = math.sqrt(a_s / a_l)
    stefan = c_s * (melt_c - surface_c) / latent
    superheat = k_l * nu * (initial_c - melt_c) / (k_s * (melt_c - surface_c))

    def balance(lam):
        return (math.exp(-lam * lam) / math.erf(lam)
                - superheat * math.exp(-(lam * nu) ** 2) / math.erfc(lam * nu)
                - lam * math.sqrt(math.pi) / stefan)

    lo, hi = 1e-6, 3.0  # balance falls from +inf through one root
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if balance(mid) > 0.0 else (lo, mid)
    return 0.5 * (lo + hi), a_s


def tissue_lambda(p, surface_c, melt_c, initial_c):
    rho = p["tissue_density_kg_per_m3"]
    k_u = p["k_dermis_w_per_m_k"]
    return neumann_lambda(p["frozen_k_ratio"] * k_u, rho * p["frozen_cp_j_per_g_k"] * 1e3,
                          k_u, rho * p["tissue_cp_j_per_g_k"] * 1e3,
                          rho * p["tissue_latent_j_per_g"] * 1e3, surface_c, melt_c, initial_c)


def test_the_frozen_front_follows_the_neumann_solution():
    t = Tissue(NEUMANN, slab=True, band_c=NEUMANN_BAND_C, relaxations=50)
    initial_c = float(t.temperature_c()[0, t.grid.z_mid < 4e-3].mean())
    lam, alpha = tissue_lambda(tissue.checked_params(NEUMANN), SURFACE_C,
                               sum(NEUMANN_BAND_C) / 2.0, initial_c)
    worst = (0.0, 0.0)
    for i in range(1, int(round(30.0 / NEUMANN_STEP_S)) + 1):
        t.step(NEUMANN_STEP_S, SURFACE_C, True)
        seconds = i * NEUMANN_STEP_S
        exact_mm = 2.0 * lam * math.sqrt(alpha * seconds) * 1e3
        error = t.frozen_mm / exact_mm - 1.0
        if seconds >= 1.0 - 1e-9 and abs(error) > abs(worst[0]):
            worst = (error, seconds)
        assert seconds < 1.0 - 1e-9 or abs(error) <= 0.05, (seconds, t.frozen_mm, exact_mm)
    TERMINAL_SUMMARY.append(
        "Neumann (two-phase, slab, surface at %.0f C, tissue at %.1f C): front %.2f mm at 30 s "
        "against %.2f mm; worst error %+.1f %% at %.1f s, checked every %.1f s from 1 s"
        % (SURFACE_C, initial_c, t.frozen_mm, exact_mm, worst[0] * 100, worst[1],
           NEUMANN_STEP_S))


# --- the field's figures -------------------------------------------------------

def hold(t, tip_c, seconds):
    for _ in range(int(round(seconds / tissue.STEP_S))):
        t.step(tissue.STEP_S, tip_c, True)


def ice_range_mm(tip_c):
    """docs/PLANT.md: the CryoPen's 2 mm after 10 s, +-25 % (a figure given to the
    millimetre), for a skin surface between the N2O boiling point and tip_c, scaled to
    tip_c by the Neumann growth constant of this tissue."""
    p = tissue.checked_params()
    at_tip = tissue_lambda(p, tip_c, tissue.ICE_C, p["skin_c"])[0]
    at_boil = tissue_lambda(p, BOIL_C, tissue.ICE_C, p["skin_c"])[0]
    return 2.0 * 0.75 * at_tip / at_boil, 2.0 * 1.25


def lethal_share(tip_c):
    """Where lethal_c sits in the frozen layer, as a share of the front's depth: in the
    Neumann solution the frozen layer's profile is an error function of depth."""
    p = tissue.checked_params()
    lam = tissue_lambda(p, tip_c, tissue.ICE_C, p["skin_c"])[0]
    target = math.erf(lam) * (p["lethal_c"] - tip_c) / (tissue.ICE_C - tip_c)
    lo, hi = 0.0, lam
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if math.erf(mid) < target else (lo, mid)
    return lo / lam


@pytest.mark.parametrize("tip_c", [SURFACE_C, -88.0])
def test_ice_depth_after_a_10_s_hold_matches_the_cryopen_figure(tip_c):
    t = Tissue()
    hold(t, tip_c, 10.0)
    lo, hi = ice_range_mm(tip_c)
    share = lethal_share(tip_c)
    assert lo <= t.ice_mm <= hi
    assert share * lo <= t.lethal_mm <= share * hi
    TERMINAL_SUMMARY.append("tip at %.0f C for 10 s: ice %.2f mm (expected %.2f to %.2f), "
                            "-20 C at %.2f mm (expected %.2f to %.2f), basal layer %.1f C"
                            % (tip_c, t.ice_mm, lo, hi, t.lethal_mm, share * lo, share * hi,
                               t.basal_c))


def test_the_ice_spreads_at_the_surface_as_the_geometry_says():
    """A small tip: the ice is a hemisphere about it, the clinical rule, within the tip's
    radius. The pen's face: the oblate isotherms of a cold disc, radius sqrt(d^2 + a^2),
    within 10 %."""
    figures = []
    for diameter_mm in (1.0, 6.0, 10.0):
        t = Tissue({"tip_d_mm": diameter_mm})
        a = diameter_mm / 2.0
        for seconds in (10.0, 20.0):
            hold(t, SURFACE_C, 10.0)
            depth, radius = t.ice_mm, t.ice_radius_mm
            disc = math.hypot(depth, a)
            assert abs(radius / disc - 1.0) <= 0.10, (diameter_mm, seconds, radius, disc)
            if diameter_mm == 1.0:
                assert abs(radius - depth) <= a
            figures.append((diameter_mm, seconds, depth, t.ice_lateral_mm, radius / disc - 1.0))
    TERMINAL_SUMMARY.append("ice at the surface (tip %.0f C): " % SURFACE_C + "; ".join(
        "%g mm tip %.0f s: depth %.2f, beyond the edge %.2f mm (%.2f of the depth), radius "
        "%+.0f %% off the disc's" % (d, s, depth, lateral, lateral / depth, off * 100)
        for d, s, depth, lateral, off in figures))


def test_a_cooling_tip_makes_no_ice_and_the_basal_layer_sits_above_it():
    t = Tissue()
    hold(t, 4.0, 10.0)
    assert t.ice_mm == 0.0 and t.ice_radius_mm == 0.0 and t.ice_lateral_mm == 0.0
    assert t.skin_c == 4.0 < t.basal_c < 33.0


def test_lifted_skin_keeps_its_resting_temperature():
    t = Tissue({"skin_c": 32.0})
    for _ in range(240):
        t.step(tissue.STEP_S, 20.0, False)
    assert t.skin_c == pytest.approx(32.0, abs=0.01)
    assert abs(t.enthalpy_change_j()) < 1e-6


# --- energy and the coupling to the tip ------------------------------------------

def ledger_gap_j(t):
    flows = t.perfusion_heat_j + t.air_heat_j + t.core_heat_j - t.face_heat_j
    return t.enthalpy_change_j() - flows


@pytest.mark.parametrize("relaxations", [1, 4])
def test_the_enthalpy_ledger_closes(relaxations):
    t = Tissue(relaxations=relaxations)
    for tip_c, contact, seconds in ((SURFACE_C, True, 10.0), (20.0, False, 5.0),
                                    (30.0, True, 5.0), (-20.0, True, 3.0), (20.0, False, 8.0)):
        for _ in range(int(round(seconds / tissue.STEP_S))):
            t.step(tissue.STEP_S, tip_c, contact)
    assert t.face_heat_j > 5.0 and t.perfusion_heat_j > 0.1 and t.core_heat_j > 0.1
    assert t.air_heat_j != 0.0
    assert abs(ledger_gap_j(t)) <= 1e-9 * t.face_heat_j


def freeze(link_interval_s=None, relaxations=1, seconds=20.0, lift_s=15.0):
    """32 C tip on the skin, spray until -50 C and hold it, lifted at lift_s. With
    link_interval_s the tip and the tissue meet through TipLink; without it the
    tissue steps every tick with the tip held. Returns (tip, tissue, link, samples
    every 0.25 s of (tip_c, ice_mm, basal_c), spray heat J)."""
    t = Tissue(relaxations=relaxations)
    link = TipLink(t, link_interval_s) if link_interval_s else None
    tip_c, spray_j, samples = 32.0, 0.0, []
    for i in range(1, int(round(seconds / TICK_S)) + 1):
        contact = i * TICK_S <= lift_s + 1e-9
        if link:
            skin_w = link.heat_w(TICK_S, tip_c, contact)
        else:
            skin_w = t.step(TICK_S, tip_c, contact)
        spray_w = min(SPRAY_MAX_W, SPRAY_W_PER_K * (tip_c - BOIL_C)) \
            if contact and tip_c > SURFACE_C else 0.0
        tip_c += TICK_S * (skin_w - spray_w) / TIP_J_PER_K
        spray_j += spray_w * TICK_S
        if i % 25 == 0:
            samples.append((tip_c, t.ice_mm, t.basal_c))
    return tip_c, t, link, samples, spray_j


def test_the_tip_and_tissue_ledgers_close_together_through_the_link():
    tip_c, t, link, _samples, spray_j = freeze(tissue.STEP_S)
    assert TIP_J_PER_K * (tip_c - 32.0) == pytest.approx(link.heat_j - spray_j, abs=1e-9)
    assert link.heat_j == pytest.approx(t.face_heat_j + link.owed_j, abs=1e-9)
    assert abs(link.owed_j) <= 0.005  # J, of about 20 J the tip took
    assert abs(ledger_gap_j(t)) <= 1e-9 * t.face_heat_j
    TERMINAL_SUMMARY.append("through TipLink the tip took %.3f J, the tissue gave %.3f J, "
                            "%.4f J owed at the end" % (link.heat_j, t.face_heat_j, link.owed_j))


@pytest.mark.parametrize("epidermis_mm", [0.05, 0.1, 1.5])
def test_touching_frozen_skin_again_stays_between_the_tip_and_the_body(epidermis_mm):
    """Freeze, lift, touch again with the cold tip, as freeze-thaw-freeze does: no cell
    colder than the tip has been, nor warmer than the body."""
    t = Tissue({"epidermis_mm": epidermis_mm})
    link = TipLink(t)
    tip_c, coldest_c = 32.0, 32.0
    for i in range(int(round(40.0 / TICK_S))):
        seconds = i * TICK_S
        contact = seconds < 15.0 or seconds >= 25.0
        spray = contact and (seconds < 12.0 or seconds >= 25.0) and tip_c > SURFACE_C
        skin_w = link.heat_w(TICK_S, tip_c, contact)
        spray_w = min(SPRAY_MAX_W, SPRAY_W_PER_K * (tip_c - BOIL_C)) if spray else 0.0
        tip_c += TICK_S * (skin_w - spray_w) / TIP_J_PER_K
        coldest_c = min(coldest_c, tip_c)
        if i % 25 == 0:
            field = t.temperature_c()
            assert coldest_c - 0.5 <= field.min() and field.max() <= 37.0, seconds


def test_the_linked_tip_follows_a_tissue_stepped_every_tick():
    linked = freeze(tissue.STEP_S)[3]
    fine = freeze(None, relaxations=10)[3]
    tip_k = max(abs(a[0] - b[0]) for a, b in zip(linked, fine))
    ice_mm = max(abs(a[1] - b[1]) for a, b in zip(linked, fine))
    basal_k = max(abs(a[2] - b[2]) for a, b in zip(linked, fine))
    end = 15.0 / 0.25 - 1  # the end of the hold
    assert tip_k <= 3.0 and ice_mm <= 0.15 and basal_k <= 5.0
    assert abs(linked[int(end)][2] - fine[int(end)][2]) <= 1.0
    TERMINAL_SUMMARY.append(
        "tissue steps of %.2f s through TipLink against steps every tick: tip within %.1f K, "
        "ice within %.2f mm, basal layer within %.1f K (%.2f K at the end of the hold)"
        % (tissue.STEP_S, tip_k, ice_mm, basal_k, abs(linked[int(end)][2] - fine[int(end)][2])))


def test_cost_per_simulated_second():
    """What the tissue adds to a simulated second: TipLink's work at every tick and a
    step every STEP_S, over a freeze, a hold and a lift."""
    seconds = 20.0
    t = Tissue()
    link = TipLink(t)
    tip = [32.0 - 82.0 * min(1.0, i * TICK_S / 5.0) for i in range(int(seconds / TICK_S))]
    contact = [i * TICK_S <= 15.0 for i in range(len(tip))]
    start = time.process_time()
    for c, on in zip(tip, contact):
        link.heat_w(TICK_S, c, on)
    spent = time.process_time() - start
    per_s_ms = spent / seconds * 1e3
    assert per_s_ms < 2.5  # a quarter of the simulator's whole budget at 1000 x real time
    TERMINAL_SUMMARY.append(
        "tissue cost: %.2f ms per simulated second (%.1f us per 10 ms tick), a step every "
        "%.2f s on a %d x %d grid" % (per_s_ms, per_s_ms * 10.0, tissue.STEP_S,
                                      t.grid.shape[0], t.grid.shape[1]))


# --- parameters ---------------------------------------------------------------------

@pytest.mark.parametrize("overrides, named", [
    ({"frozen_k_ratio": 9.0}, "frozen_k_ratio"),
    ({"lethal_c": "cold"}, "lethal_c"),
    ({"epidermis_mm": 3.0}, "epidermis_mm"),
    ({"frost_mm": 1.0}, "frost_mm"),
])
def test_bad_parameter_refused_by_name(overrides, named):
    with pytest.raises(ValueError, match=named):
        Tissue(overrides)


def test_doc_lists_every_tissue_parameter_with_its_default():
    with open(DOC) as f:
        rows = [line for line in f if line.startswith("| `")]
    for name, default, _unit, _lo, _hi, _source in tissue.PARAMS:
        row = [r for r in rows if r.startswith("| `%s` |" % name)]
        assert len(row) == 1, name
        assert "| %g |" % default in row[0], name
    with open(DOC) as f:
        text = f.read()
    assert re.search(r"STEP_S.*%g s" % tissue.STEP_S, text)
