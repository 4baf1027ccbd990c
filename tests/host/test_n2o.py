"""The N2O tables the physical model reads (host_tools/sim/n2o.py) against CoolProp
itself, between the knots where linear interpolation errs most, and the file that
keeps them: one that is damaged or from another table is computed again."""
import json
import random

import pytest
from CoolProp.CoolProp import PropsSI

from host_tools.sim import n2o

K = n2o.KELVIN
TERMINAL_SUMMARY = []


def _coolprop_saturated(c):
    t = c + K
    return {"p_pa": PropsSI("P", "T", t, "Q", 0, n2o.FLUID),
            "h_liquid_j_per_kg": PropsSI("H", "T", t, "Q", 0, n2o.FLUID),
            "h_vapour_j_per_kg": PropsSI("H", "T", t, "Q", 1, n2o.FLUID),
            "rho_liquid_kg_per_m3": PropsSI("D", "T", t, "Q", 0, n2o.FLUID),
            "rho_vapour_kg_per_m3": PropsSI("D", "T", t, "Q", 1, n2o.FLUID)}


def test_the_tables_hold_coolprops_values_between_the_knots():
    rng = random.Random(20261125)
    worst = 0.0
    # Mid-knot points are where a linear table errs most; the top of the cartridge's
    # range is where saturated properties bend most, towards the critical point.
    cartridge = [rng.uniform(n2o.CART_MIN_C, n2o.CART_MAX_C) for _ in range(300)]
    cartridge += [n2o.CART_MAX_C - (i + 0.5) / n2o.STEPS_PER_K for i in range(20)]
    for c in cartridge:
        ours, theirs = n2o.saturated(c), _coolprop_saturated(c)
        for name in n2o.SATURATED:
            error = abs(ours[name] - theirs[name]) / abs(theirs[name])
            assert error <= n2o.TOLERANCE, (name, c, ours[name], theirs[name])
            worst = max(worst, error)
    assert n2o.BOIL_C == pytest.approx(PropsSI("T", "P", n2o.P_ATM_PA, "Q", 0, n2o.FLUID) - K,
                                       abs=1e-9)
    for t in [rng.uniform(n2o.BOIL_C, n2o.VAPOUR_TOP_C) for _ in range(300)]:
        theirs = PropsSI("H", "T", t + K, "P", n2o.P_ATM_PA, n2o.FLUID)
        error = abs(n2o.vapour_h_1atm(t) - theirs) / abs(theirs)
        assert error <= n2o.TOLERANCE, (t, n2o.vapour_h_1atm(t), theirs)
        worst = max(worst, error)
    assert n2o.vapour_h_1atm(n2o.BOIL_C - 5.0) == PropsSI("H", "P", n2o.P_ATM_PA, "Q", 1,
                                                          n2o.FLUID)
    TERMINAL_SUMMARY.append("N2O tables against CoolProp between the knots, %d cartridge and 300 "
                            "tip temperatures: worst relative error %.1e (allowed %.0e)"
                            % (len(cartridge), worst, n2o.TOLERANCE))


@pytest.mark.parametrize("c", [n2o.CART_MIN_C - 0.01, n2o.CART_MAX_C + 0.01])
def test_a_cartridge_outside_the_table_is_refused_naming_the_range(c):
    with pytest.raises(ValueError, match="outside -20..35 C"):
        n2o.saturated(c)


def test_a_tip_above_the_vapour_table_is_refused():
    with pytest.raises(ValueError, match="above its top"):
        n2o.vapour_h_1atm(n2o.VAPOUR_TOP_C + 0.1)


@pytest.mark.parametrize("content", ['{"fluid": "Water"}', '{"fluid": "NitrousOx'])
def test_a_damaged_or_foreign_table_file_is_computed_again(tmp_path, monkeypatch, content):
    path = tmp_path / "build" / "n2o.json"
    path.parent.mkdir()
    path.write_text(content)
    monkeypatch.setattr(n2o, "_path", lambda: str(path))
    calls = []
    real = n2o._compute
    monkeypatch.setattr(n2o, "_compute", lambda: calls.append(1) or real())
    doc = n2o._load()
    assert calls == [1] and doc["boil_c"] == n2o.BOIL_C
    assert json.loads(path.read_text()) == json.loads(json.dumps(doc))  # rewritten whole
    assert n2o._load() == json.loads(path.read_text()) and calls == [1]  # then read
