"""The physical model of the pen (host_tools/sim/plant.py) against the figures it is built on:
the CoolProp enthalpy table in SOURCES.md and the timing targets in docs/PLANT.md."""
import os

import pytest

from host_tools.sim import plant
from host_tools.sim.plant import Plant, enthalpy_j_per_g

DT_S = 0.01  # the simulator's tick
DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "PLANT.md")


def run(p, seconds, valve_open):
    for _ in range(int(round(seconds / DT_S))):
        p.step(DT_S, valve_open)


def seconds_until(p, valve_open, reached, limit_s):
    t = 0.0
    while not reached(p.tip_c):
        if t > limit_s:
            raise AssertionError("tip at %.1f C after %.0f s" % (p.tip_c, limit_s))
        p.step(DT_S, valve_open)
        t += DT_S
    return t


def hold(p, target_c, seconds):
    """On/off at the tick, the way the regulator holds a freeze target."""
    for _ in range(int(round(seconds / DT_S))):
        p.step(DT_S, p.tip_c > target_c)


# SOURCES.md, "Nitrous oxide and the pen": cartridge C, tip C, J/g
@pytest.mark.parametrize("cartridge_c, tip_c, j_per_g", [
    (20, -88, 160), (20, -60, 183), (20, -30, 207),
    (0, -88, 209), (0, -60, 231), (0, -30, 256),
])
def test_enthalpy_matches_the_sources_table(cartridge_c, tip_c, j_per_g):
    assert abs(enthalpy_j_per_g(tip_c, cartridge_c) - j_per_g) <= 2.0


def test_boiling_point_from_coolprop():
    assert abs(plant.boiling_point_c() - (-88.46)) <= 0.1
    assert Plant().boil_c == plant.boiling_point_c()


def test_spray_power_is_flow_times_enthalpy_times_efficiency():
    # Off the 1 K grid, in air so only the spray and a little convection act.
    p = Plant(tip_start_c=12.3, spray_efficiency=0.5)
    p.contact = False
    p.step(0.001, True)
    expected_w = 0.5 * p.liquid_flow_g_per_s * enthalpy_j_per_g(12.3, 20.0)
    assert p.spray_heat_j / 0.001 == pytest.approx(expected_w, rel=1e-3)


def test_full_open_on_skin_reaches_minus_50_within_3_to_8_s():
    p = Plant(tip_start_c=32.0, cartridge_c=20.0)
    t = seconds_until(p, True, lambda c: c <= -50.0, 10.0)
    assert 3.0 <= t <= 8.0


def test_full_open_on_skin_saturates_between_minus_88_and_minus_80():
    p = Plant()
    run(p, 30.0, True)
    assert p.boil_c <= p.tip_c <= -80.0


@pytest.mark.parametrize("freeze", ["hold -50 C for 10 s", "full open for 10 s"])
def test_tip_rewarms_above_zero_in_30_to_70_s_after_a_freeze(freeze):
    """On the skin the tip warms past 0 C only once the ice under it has thawed: 30 s,
    the clinicians' thaw of an exposed lesion, to 70 s, the ice's heat over what the
    body supplies (docs/PLANT.md, "Calibration")."""
    p = Plant()
    if freeze.startswith("hold"):
        seconds_until(p, True, lambda c: c <= -50.0, 10.0)
        hold(p, -50.0, 10.0)
    else:
        run(p, 10.0, True)
    t = seconds_until(p, False, lambda c: c > 0.0, 90.0)
    assert 30.0 <= t <= 70.0


@pytest.mark.parametrize("overrides, dt_s", [
    ({}, DT_S),
    ({"spray_h_w_per_m2_k": 50000.0, "tip_mass_g": 0.1, "spray_efficiency": 1.0}, DT_S),
    ({}, 0.5),  # longer than one stable sub-step
])
def test_tip_never_below_boiling_point(overrides, dt_s):
    p = Plant(**overrides)
    p.contact = False  # no skin load: the deepest the tip can go
    coldest = p.tip_c
    for _ in range(int(60.0 / dt_s)):
        p.step(dt_s, True)
        coldest = min(coldest, p.tip_c)
    assert p.boil_c <= coldest < p.boil_c + 1.0


def test_gas_used_equals_flow_integral_and_stops_at_empty():
    p = Plant(cartridge_g=1.0)
    run(p, 5.0, True)
    assert p.gas_used_g == pytest.approx(5.0 * p.liquid_flow_g_per_s, rel=1e-9)
    run(p, 2.0, False)
    assert p.gas_used_g == pytest.approx(5.0 * p.liquid_flow_g_per_s, rel=1e-9)
    assert p.gas_used_g + p.gas_left_g == pytest.approx(1.0, rel=1e-12)
    run(p, 1.2 / p.liquid_flow_g_per_s, True)
    assert p.gas_used_g == pytest.approx(1.0, rel=1e-12)
    assert p.gas_left_g == 0.0
    spray = p.spray_heat_j
    run(p, 5.0, True)
    assert p.spray_heat_j == spray
    assert p.gas_used_g == pytest.approx(1.0, rel=1e-12)


def test_last_drop_cools_in_proportion():
    full, last = Plant(), Plant()
    last.gas_left_g = 0.25 * last.liquid_flow_g_per_s * DT_S
    full.step(DT_S, True)
    last.step(DT_S, True)
    assert last.gas_left_g == 0.0
    assert last.spray_heat_j == pytest.approx(0.25 * full.spray_heat_j, rel=1e-9)


def test_default_cartridge_holds_the_usable_cooling_the_sources_give():
    # An 8 g cartridge at 20 C holds about 1.3 to 1.7 kJ of usable cooling (SOURCES.md);
    # the closed tip takes up spray_efficiency of it. At full flow that is 300 to 800 s.
    p = Plant()
    t = 0.0
    while p.gas_left_g > 0.0:
        p.step(DT_S, True)
        t += DT_S
    assert 300.0 <= t <= 800.0
    assert p.gas_used_g == pytest.approx(8.0)
    usable = [8.0 * enthalpy_j_per_g(tip, 20.0) for tip in (-88.0, -30.0)]
    assert 1250.0 <= usable[0] < usable[1] <= 1700.0


def test_empty_cartridge_gives_no_cooling():
    p = Plant()
    p.empty_cartridge()
    run(p, 10.0, True)
    assert p.spray_heat_j == 0.0
    assert p.tip_c > 30.0


def test_tilted_pen_cools_far_less():
    upright, tilted = Plant(), Plant()
    tilted.tilted = True
    run(upright, 10.0, True)
    run(tilted, 10.0, True)
    assert tilted.spray_heat_j < 0.25 * upright.spray_heat_j
    assert upright.tip_c < -50.0  # docs/PLANT.md: -50 C after 7.4 s
    assert tilted.tip_c > 0.0


def test_energy_bookkeeping_closes():
    p = Plant()
    start_c = p.tip_c
    run(p, 8.0, True)
    p.contact = False
    run(p, 3.0, False)
    p.tilted = True
    run(p, 3.0, True)
    p.tilted = False
    p.contact = True
    run(p, 20.0, False)
    stored_j = p.tip_heat_capacity_j_per_k * (p.tip_c - start_c)
    balance_j = p.skin_heat_j + p.air_heat_j - p.spray_heat_j
    assert p.spray_heat_j > 10.0 and p.skin_heat_j > 5.0 and p.air_heat_j != 0.0
    assert abs(stored_j - balance_j) <= 0.01 * p.spray_heat_j


def test_lifted_skin_keeps_its_resting_temperature():
    p = Plant(skin_c=32.0)
    p.contact = False
    near_c = p.tissue_near_c
    run(p, 120.0, False)
    assert p.skin_c == pytest.approx(32.0, abs=0.01)
    assert p.tissue_near_c == pytest.approx(near_c, abs=0.01)
    assert 32.0 < near_c < p.tissue_deep_c < 37.0


def test_freezing_latent_heat_slows_the_tissue():
    """The latent heat holds the front back: in the Neumann solution, for this tissue
    under a -85 C surface, the front without it runs about 1.5 times as deep."""
    ice, near = {}, {}
    for latent in (250.0, 0.0):
        p = Plant(tissue_latent_j_per_g=latent)
        run(p, 20.0, True)
        ice[latent], near[latent] = p.ice_mm, p.tissue_near_c
    assert ice[0.0] > 1.3 * ice[250.0] > 0.0
    assert near[250.0] > near[0.0] + 5.0


@pytest.mark.parametrize("overrides, named", [
    ({"nozzle_mm": 0.04}, "nozzle_mm"),
    ({"cartridge_c": 40.0}, "cartridge_c"),
    ({"tip_mass_g": 0.0}, "tip_mass_g"),
    ({"spray_efficiency": "high"}, "spray_efficiency"),
    ({"skin_c": 29.0, "room_c": 30.0}, "skin_c"),
])
def test_bad_parameter_refused_by_name(overrides, named):
    with pytest.raises(ValueError, match=named):
        Plant(**overrides)


def test_warmer_cartridge_gives_more_flow_but_fewer_joules_per_gram():
    cool, warm = Plant(cartridge_c=0.0), Plant(cartridge_c=30.0)
    assert warm.pressure_bar > cool.pressure_bar + 25.0
    assert warm.liquid_flow_g_per_s > cool.liquid_flow_g_per_s
    for tip_c in (-85.0, -50.0, 0.0):
        assert enthalpy_j_per_g(tip_c, 30.0) < enthalpy_j_per_g(tip_c, 0.0) - 30.0


def test_doc_lists_every_parameter_with_its_default():
    with open(DOC) as f:  # the parameter tables; the Monte Carlo's table of draws comes last
        text = f.read().split("\n## Monte Carlo", 1)[0]
    rows = [line for line in text.splitlines(True) if line.startswith("| `")]
    for name, default, unit, _lo, _hi, _source in plant.PARAMS:
        row = [r for r in rows if r.startswith("| `%s` |" % name)]
        assert len(row) == 1, name
        assert "| %g |" % default in row[0], name
