"""`cryopen montecarlo` on a few samples: the same figures whatever the number of
jobs, the JSON's keys, ordered percentiles, the progress line, and bad arguments
refused with a message and status 2. The small run's figures are printed at the end
of the test run (TERMINAL_SUMMARY); README, "Monte Carlo", has the 1000-sample run."""
import json
import re
import subprocess
import sys

import pytest

from host_tools import cli, paths
from host_tools.sim import montecarlo, n2o, plant, scenario, simulator

TERMINAL_SUMMARY = []
N = 20


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The same 20 samples with one job and with two, through the command."""
    out = tmp_path_factory.mktemp("montecarlo")
    docs = {}
    for jobs in (1, 2):
        path = out / ("mc%d.json" % jobs)
        status = cli.main(["montecarlo", "--profile", "moderate", "--n", str(N), "--seed", "7",
                           "--jobs", str(jobs), "--json", str(path)])
        assert status == 0
        docs[jobs] = json.loads(path.read_text())
    return docs


def test_one_job_and_two_give_the_same_figures(runs):
    one, two = (dict(runs[j]) for j in (1, 2))
    assert (one.pop("run")["jobs"], two.pop("run")["jobs"]) == (1, 2)
    assert one == two
    TERMINAL_SUMMARY.extend(montecarlo.table(runs[1]))


def test_the_json_has_its_documented_keys(runs):
    doc = runs[1]
    assert set(doc) == {"profile", "n", "seed", "figures", "not_at_target", "lifted",
                        "end_reasons", "nuisance_faults", "distributions", "run"}
    assert (doc["profile"], doc["n"], doc["seed"]) == ("moderate", N, 7)
    assert set(doc["figures"]) == {key for key, _, _ in montecarlo.FIGURES}
    assert set(doc["nuisance_faults"]) == {"samples", "rate", "on_skin", "lifted", "by_name",
                                           "cases"}
    assert sum(doc["end_reasons"].values()) == N
    assert [d["name"] for d in doc["distributions"]] == [row[0] for row in montecarlo.DRAWS]


def test_the_percentiles_are_ordered_and_plausible(runs):
    figures = runs[1]["figures"]
    for key, f in figures.items():
        assert f["count"] > 0, key
        assert f["min"] <= f["p5"] <= f["p50"] <= f["p95"] <= f["max"], key
    # moderate holds -50 C: the tip reaches it in seconds and the ice goes some mm deep
    assert 2.0 < figures["time_to_target_s"]["p50"] < 12.0
    assert 0.5 < figures["max_ice_mm"]["p50"] < 3.0
    assert figures["gas_used_g"]["min"] > 0.0


def test_every_draw_stays_inside_the_parameters_plausible_range():
    bounds = dict((row[0], (row[3], row[4])) for row in plant.PARAMS)
    for i in range(200):
        doc, _ = montecarlo.sample_doc("moderate", 3, i)
        scenario.from_dict(doc)  # the scenario's own checks: every parameter in range
        for name, value in doc["plant"].items():
            lo, hi = bounds[name]
            assert lo <= value <= hi, (name, value)


def test_a_sample_is_its_seed_and_index_alone():
    assert montecarlo.sample_doc("moderate", 5, 3) == montecarlo.sample_doc("moderate", 5, 3)
    assert montecarlo.sample_doc("moderate", 5, 3) != montecarlo.sample_doc("moderate", 6, 3)


def test_a_sample_stops_soon_after_its_application_and_as_the_whole_run_would():
    doc, _ = montecarlo.sample_doc("moderate", 1, 0)
    sc = scenario.from_dict(doc)
    whole = simulator.Simulation(sc).run()
    watch = montecarlo._Watch(sc.profile.target_cc)
    short = simulator.Simulation(sc).run(until=watch)
    app, whole_app = short.summary["applications"][0], whole.summary["applications"][0]
    assert short.trace[-1][0] == pytest.approx(app["end_s"] + montecarlo.AFTER_S, abs=0.011)
    assert short.trace == whole.trace[:len(short.trace)]
    for key in ("start_s", "end_s", "end_reason", "min_basal_c"):
        assert app[key] == whole_app[key], key
    # The depths are taken as the application ends: under a tip left on the skin the
    # ice goes on growing (README, "Monte Carlo").
    ice_col = simulator.TRACE_COLUMNS.index("ice_mm")
    at_end = [row[ice_col] for row in short.trace if row[0] <= app["end_s"] + 1e-9]
    assert watch.at_end["max_ice_mm"] == pytest.approx(max(at_end))
    assert watch.at_end["max_ice_mm"] <= whole_app["max_ice_mm"]


def test_the_workers_never_load_coolprop():
    # In a fresh interpreter: this test process may hold CoolProp from other tests.
    # The N2O table file is made first (making it is CoolProp's one use).
    n2o._load()
    code = ("import multiprocessing, sys\n"
            "from host_tools.sim import montecarlo\n"
            "with multiprocessing.get_context('fork').Pool(2) as pool:\n"
            "    workers = pool.map(montecarlo._imports_coolprop, range(2))\n"
            "print(workers, montecarlo._imports_coolprop())\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=str(paths.ROOT), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[False,", "False]", "False"], done.stdout


def test_progress_is_shown_on_stderr(capsys, tmp_path):
    assert cli.main(["montecarlo", "--n", "2", "--jobs", "1"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"^  2/2 samples, \d+ s$", err, re.M), err


@pytest.mark.parametrize("args, said", [
    (["--profile", "nope"], "no profile named 'nope'"),
    (["--n", "0"], "--n 0"),
    (["--jobs", "0"], "--jobs 0"),
    (["--seed", "-1"], "--seed -1"),
    (["--json", "{tmp}"], "is a directory"),
    (["--plot", "{tmp}/figures.xyz"], "cannot draw a .xyz file"),
    (["--json", "{tmp}/file/figures.json"], "is a file, not a folder"),
])
def test_bad_arguments_are_refused_with_a_message(args, said, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    argv = ["montecarlo", "--n", "1"] + [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert said in captured.err and "Traceback" not in captured.err
    assert not re.search(r"\d+/\d+ samples", captured.err)  # refused before any sample ran


def test_plot_is_written(tmp_path):
    path = tmp_path / "mc.png"
    assert cli.main(["montecarlo", "--n", "3", "--jobs", "1", "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
