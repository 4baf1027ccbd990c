"""The cartridge gauge against the physical model, on the real simulator (issue 11,
acceptance): a full 8 g cartridge at 10, 20 and 30 C, applications repeated until
it runs dry.

"Within 25 %" is measured two ways, on every tick of the run (100 per second):

- relative to what the model has left, |estimate - model| <= 25 % of the model's gas
  left, from full down to a quarter of the cartridge (2 g). Below that no estimate
  that counts valve-open time can stay within 25 % of an amount that goes to zero;
- relative to the cartridge, |estimate - model| <= 25 % of 8 g (2 g), from full to dry.

The error must also be the flow's spread and nothing else: the model's flow differs
from the board's nominal one by a fixed share at each temperature, so the error is
that share of the gas used, to within 5 mg. The low-gas warning must stand on the
tick before the application in which the model runs dry. The figures are printed at
the end of the run.

The applications: a freeze profile whose target (-84 C) is near where the tip stops
on skin, so that the valve is open for about half of each 45 s application and an
8 g cartridge runs dry in about 20 minutes of simulated time. A new session before
each one keeps the session's cap out of the way. The run starts with the new
cartridge event, so the clinician's gesture is part of it.
"""
import math

import pytest

from boards.sim import board
from firmware import alarms, signals, states
from host_tools.sim import scenario, simulator
from host_tools.sim.plant import Plant

CARTRIDGE_G = 8.0
TEMPERATURES_C = (10, 20, 30)
CONTACT_S = 45
CYCLE_S = 54  # 45 s applied, the 5 s rest, a 2.5 s hold of mode (a new session)
DUTY_FLOOR = 0.5  # the valve is open at least this share of an application (measured ~0.55)
DRAIN = {"name": "drain", "kind": "freeze", "target_c": -84, "floor_c": -90,
         "hold_s": CONTACT_S, "contact_s": CONTACT_S, "rest_s": 5, "session_s": 300,
         "cycles": 20, "cool_window_s": 3, "cool_drop_c": 2}
QUARTER_G = CARTRIDGE_G / 4
LOW_GAS = alarms.worst(alarms.F_LOW_GAS)

TERMINAL_SUMMARY = []
_RUNS = {}


def drain(cartridge_c):
    """The scenario: enough applications to empty the cartridge at DUTY_FLOOR, and two more."""
    flow = Plant(cartridge_c=cartridge_c).liquid_flow_g_per_s
    n = math.ceil(CARTRIDGE_G / (flow * CONTACT_S * DUTY_FLOOR)) + 2
    events = [{"t": 0.5, "cartridge": "new"}]
    for i in range(n):
        t = 1.0 + i * CYCLE_S
        events += [{"t": t, "trigger": True}, {"t": t + CONTACT_S + 0.5, "trigger": False},
                   {"t": t + 51.0, "mode": True}, {"t": t + 53.5, "mode": False}]
    return {"name": "drain at %d C" % cartridge_c, "profile": DRAIN,
            "duration_s": 1.0 + n * CYCLE_S, "plant": {"cartridge_c": cartridge_c},
            "events": events}


def run(cartridge_c):
    """(summary, rows as dicts, model flow g/s), once per temperature."""
    if cartridge_c not in _RUNS:
        result = simulator.run(scenario.from_dict(drain(cartridge_c)))
        rows = [dict(zip(simulator.TRACE_COLUMNS, r)) for r in result.trace]
        flow = Plant(cartridge_c=cartridge_c).liquid_flow_g_per_s
        _RUNS[cartridge_c] = (result.summary, rows, flow)
    return _RUNS[cartridge_c]


def model_left(row):
    return CARTRIDGE_G - row["gas_g"]  # one cartridge, full from the start


@pytest.mark.parametrize("cartridge_c", TEMPERATURES_C)
def test_the_gauge_stays_within_25_percent_of_the_models_gas_left(cartridge_c):
    summary, rows, flow = run(cartridge_c)
    assert summary["cartridges"] == [{"t_s": 0.5}]  # the gesture was taken
    assert rows[-1]["gas_g"] == pytest.approx(CARTRIDGE_G), "the run ended before it ran dry"
    spread = abs(1 - board.NOMINAL_FLOW_MG_PER_S / 1000.0 / flow)
    worst_g = worst_rel = 0.0
    holds_to_g = 0.0  # the relative error is within 25 % down to this much left
    broken = False
    for row in rows:
        left = model_left(row)
        est = row["gas_left_est_g"]
        assert est is not None, "the gauge lost the cartridge at %.2f s" % row["t_s"]
        error = abs(est - left)
        worst_g = max(worst_g, error)
        assert error <= 0.25 * CARTRIDGE_G, (row["t_s"], est, left)
        assert error <= spread * (CARTRIDGE_G - left) + 0.005, (row["t_s"], est, left)
        if left >= QUARTER_G:
            worst_rel = max(worst_rel, error / left)
            assert error <= 0.25 * left, (row["t_s"], est, left)
        if not broken and left > 0 and error > 0.25 * left:
            broken = True
        if not broken:
            holds_to_g = left
    TERMINAL_SUMMARY.append(
        "cartridge gauge, %d C: model flow %.2f mg/s (nominal %d, %+.1f %%); largest error "
        "%.3f g (%.1f %% of the cartridge); within 25 %% of the gas left down to %.2f g left "
        "(worst %.1f %% while 2 g or more was left)"
        % (cartridge_c, flow * 1000, board.NOMINAL_FLOW_MG_PER_S,
           round((flow * 1000 / board.NOMINAL_FLOW_MG_PER_S - 1) * 100, 1) + 0.0, worst_g,
           worst_g / CARTRIDGE_G * 100, holds_to_g, worst_rel * 100))


@pytest.mark.parametrize("cartridge_c", TEMPERATURES_C)
def test_the_low_gas_warning_comes_before_the_application_that_runs_dry(cartridge_c):
    summary, rows, _ = run(cartridge_c)
    starts = [i for i in range(1, len(rows)) if rows[i]["state"] == states.TREATING
              and rows[i - 1]["state"] != states.TREATING]
    dry = next(i for i, row in enumerate(rows) if model_left(row) <= 1e-9)
    start = max(i for i in starts if i <= dry)  # the application in which it ran dry
    before = rows[start - 1]
    assert before["state"] == states.IDLE and before["alarm"] == LOW_GAS, before
    first = next(row for row in rows if row["alarm"] == LOW_GAS)
    assert first["t_s"] == summary["low_gas_warnings"][0]["t_s"]
    warned_apps = sum(1 for i in starts if first["t_s"] < rows[i]["t_s"] <= rows[start]["t_s"])
    # It only warns: every application it warned about still started.
    assert all(rows[i]["valve_cmd"] for i in starts if rows[i]["t_s"] > first["t_s"])
    TERMINAL_SUMMARY.append(
        "cartridge gauge, %d C: low_gas first at %.0f s with %.2f g estimated, %.2f g in the "
        "model; it ran dry at %.0f s in application %d, the %d%s warned about"
        % (cartridge_c, first["t_s"], first["gas_left_est_g"], model_left(first),
           rows[dry]["t_s"], starts.index(start) + 1, warned_apps,
           {1: "st", 2: "nd", 3: "rd"}.get(warned_apps, "th")))


# --- the gesture, the scenario event and the stored count, through the simulator ------

def sim(doc, **kw):
    result = simulator.run(scenario.from_dict(doc), **kw)
    return result.summary, [dict(zip(simulator.TRACE_COLUMNS, r)) for r in result.trace]


def at(rows, t):
    return next(r for r in rows if r["t_s"] >= t - 1e-9)


def test_a_new_cartridge_refills_the_model_and_the_pen_takes_it_only_at_rest():
    config = {"profiles": ["moderate", "short"]}
    events = [{"t": 1.0, "trigger": True}, {"t": 4.0, "cartridge": "new"},  # treating: refused
              {"t": 9.0, "trigger": False}, {"t": 10.0, "cartridge": "new"},  # resting: refused
              {"t": 20.0, "cartridge": "new"}]  # IDLE: taken
    summary, rows = sim({"name": "cartridges", "config": config, "duration_s": 25,
                         "events": events})
    assert summary["cartridges"] == [{"t_s": 20.0}]
    assert [r["beep"] for r in rows if r["t_s"] in (4.0, 10.0)] == [signals.BEEP_REFUSED] * 2
    used = at(rows, 19.0)
    assert used["gas_left_est_g"] == pytest.approx(CARTRIDGE_G - used["gas_g"], abs=0.002)
    assert at(rows, 20.0)["gas_left_est_g"] == board.CARTRIDGE_MG / 1000.0
    assert summary["gas_left_g"] == CARTRIDGE_G and summary["gas_left_est_g"] == CARTRIDGE_G
    # the mode press the gesture used chose no profile and started no session
    assert summary["profile_changes"] == [] and len(summary["sessions"]) == 1


def test_the_gauge_survives_a_power_cycle_and_stops_nothing():
    events = [{"t": 1.0, "trigger": True}, {"t": 12.0, "trigger": False},
              {"t": 20.0, "power": False}, {"t": 21.0, "power": True},
              {"t": 30.0, "trigger": True}, {"t": 40.0, "trigger": False}]
    summary, rows = sim({"name": "cut", "profile": "moderate", "duration_s": 45,
                         "events": events})
    before, after = at(rows, 19.0)["gas_left_est_g"], at(rows, 29.0)["gas_left_est_g"]
    assert before < CARTRIDGE_G and after == before
    # Every millisecond of gas counted across the cut, at the board's nominal flow.
    counted_g = summary["valve_open_total_s"] * board.NOMINAL_FLOW_MG_PER_S / 1000.0
    assert summary["gas_left_est_g"] == pytest.approx(CARTRIDGE_G - counted_g, abs=0.001)
    assert [a["start_s"] for a in summary["applications"]] == [1.0, 30.0]


def test_a_version_1_state_keeps_the_session_and_warns_until_a_new_cartridge():
    import binascii
    import struct

    from host_tools.pens import flash_image

    lfs, ctx = flash_image.new_image()
    v1 = struct.pack("<4sHHIHBBII12s", b"CPST", 1, 5, 40, 3, 2, 0, 21000, 5000, b"moderate")
    with lfs.open("/state0.bin", "wb") as f:
        f.write(v1 + struct.pack("<I", binascii.crc32(v1) & 0xFFFFFFFF))
    events = [{"t": 8.0, "trigger": True}, {"t": 10.0, "trigger": False},
              {"t": 20.0, "cartridge": "new"}]
    summary, rows = sim({"name": "old state", "profile": "moderate", "duration_s": 25,
                         "events": events}, flash=(lfs, ctx))
    assert summary["boots"][0]["cold_start"] is False
    assert summary["sessions"] == [{"t_s": 0.0, "session": 3}]
    assert at(rows, 1.0)["gas_left_est_g"] is None
    assert at(rows, 7.0)["alarm"] == LOW_GAS
    assert [a["start_s"] for a in summary["applications"]] == [8.0]  # it only warns
    assert summary["low_gas_warnings"][0]["gas_left_est_g"] is None
    assert at(rows, 21.0)["alarm"] == 0 and summary["gas_left_est_g"] == CARTRIDGE_G


@pytest.mark.parametrize("event,message", [
    ({"t": 1.0, "cartridge": "old"}, "events[0]: cartridge = 'old': the one value is \"new\""),
    ({"t": 1.0, "cartridge": True}, "events[0]: cartridge must be str, got True"),
    ({"t": 1.0, "cartridge": "new", "sensor": 1}, "sensor goes only with a thermistor fault"),
])
def test_a_bad_cartridge_event_is_refused_with_the_field_and_status_2(tmp_path, capsys,
                                                                        event, message):
    import json

    from host_tools import cli

    path = tmp_path / "s.json"
    path.write_text(json.dumps({"name": "bad", "profile": "moderate", "duration_s": 5,
                                "events": [event]}))
    assert cli.main(["simulate", str(path)]) == 2
    assert message in capsys.readouterr().err
