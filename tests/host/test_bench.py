"""The regulation figures of `cryopen bench` are deterministic (simulated time),
so they are held to the bounds here. Speed figures are printed by the bench and
never asserted."""
import functools
import json

import pytest

from host_tools import cli
from host_tools.quality import bench

FIGURES = {doc["name"]: bench.reference_figures(doc) for doc in bench.REFERENCE}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_reaches_target_within_1_2_of_the_physical_limit(name):
    assert FIGURES[name]["time_ratio"] <= 1.2


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_overshoot_under_2_c_and_never_below_the_floor(name):
    f = FIGURES[name]
    assert f["overshoot_c"] <= 2.0
    assert f["min_tip_c"] > f["floor_c"]


def test_moderate_freeze_gas_against_open_loop_and_thermodynamics():
    f = FIGURES["moderate freeze"]
    # The resolved skin takes about 2 W at -50 C, so holding costs about 3/4 of full flow
    # (docs/PLANT.md, "Calibration"): the open loop overcools for less of the time.
    assert f["gas_vs_open_loop"] <= 0.7
    assert 1.0 <= f["gas_vs_thermo_min"] <= 1.5  # below 1.0 would break physics


def test_bench_json_has_every_figure(capsys, mocker):
    # One run of each timing instead of the medians: the figures are measured all the
    # same, and the suite keeps its minutes.
    mocker.patch.object(bench, "RUNS", 1)
    mocker.patch.object(bench, "micropython_figures",
                        functools.partial(bench.micropython_figures, runs=1))
    assert cli.main(["bench", "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["micropython"]["heap_bytes_per_tick_treating"] == 0
    assert figures["micropython"]["us_per_tick_treating"] > 0
    assert figures["micropython"]["heap_after_start_bytes"] > 0
    # The display draws and sends between ticks; no tick allocated meanwhile.
    assert figures["micropython"]["ticks_allocating_with_display"] == 0
    assert figures["micropython"]["worst_loop_with_display_us"] > 0
    # The host link answers `log` pages between ticks; no tick allocated meanwhile.
    assert figures["micropython"]["ticks_allocating_with_link"] == 0
    assert figures["micropython"]["worst_loop_with_link_us"] > 0
    assert figures["cpython_sim_speed_x"] > 0
    assert figures["mpy_total_bytes"] > 0
    assert [r["profile"] for r in figures["reference"]] == ["moderate", "ftf", "aftercare"]


def test_the_bench_table_has_units_and_fixed_decimals():
    figures = {"reference": list(FIGURES.values()), "cpython_sim_speed_x": 947.3,
               "micropython": {"us_per_tick_treating": 55.4, "heap_after_start_bytes": 35088},
               "mpy_total_bytes": 21412}
    lines = bench.table(figures)
    assert "to target s" in lines[0] and "overshoot C" in lines[0] and "gas g" in lines[0]
    for row in lines[1:1 + len(FIGURES)]:
        cells = row[20:].split()
        decimals = [len(c.split(".")[1]) if "." in c else 0 for c in cells]
        assert decimals == [d for _, _, _, d in bench._TABLE[1:]], row
    assert lines[-4] == "CPython simulation: 947.3 x real time (median of 5 runs)"
    assert lines[-3] == "MicroPython time per TREATING tick: 55.4 us"
    assert lines[-2] == "MicroPython heap after start-up: 35088 bytes"


def test_the_bench_adds_the_displays_bus_time_per_page():
    figures = {"reference": [], "cpython_sim_speed_x": 1.0, "mpy_total_bytes": 1,
               "micropython": {"worst_loop_with_display_us": 512.0,
                               "worst_display_page_us": 300.0,
                               "ticks_allocating_with_display": 0}}
    lines = bench.table(figures)
    assert "MicroPython worst loop iteration with the display: 512 us" in lines
    assert "MicroPython ticks that allocated with the display: 0" in lines
    assert "Display bus time per page at 400 kHz: 3.4 ms (on a pen, on top of the iteration)" \
        in lines
    assert 3.3 < bench.display_page_bus_ms() < 3.5  # a 129-byte page alone is 2.9 ms
