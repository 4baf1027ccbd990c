"""Set-up: `make sim` installs what the simulation needs and `make test` the test
tools on top, even after `make sim`; the commands that need Node say what to run
when it, or the MicroPython package from npm, is missing."""
import os
import shutil
import subprocess
import sys
import tomllib

import pytest

from host_tools import cli
from host_tools.pens import virtual_pen
from host_tools.quality import bench

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEST_TOOLS = ("pytest", "pytest-mock", "hypothesis", "mutmut", "mypy")


def _names(requirements):
    return {r.split("==")[0].split(">=")[0].split("[")[0].strip().lower() for r in requirements}


def test_the_test_tools_are_only_in_the_test_extra():
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)
    assert not _names(project["project"]["dependencies"]) & set(TEST_TOOLS)
    assert set(TEST_TOOLS) <= _names(project["project"]["optional-dependencies"]["test"])
    # the root is the package folder: a plain path entry, no finder warning of same-named folders
    assert project["tool"]["setuptools"]["package-dir"] == {"": "."}


def _make_dry_run(target, venv):
    if shutil.which("make") is None:
        pytest.skip("no make")
    done = subprocess.run(["make", "-n", target, "VENV=%s" % venv], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    return [l for l in done.stdout.splitlines() if "pip install" in l and "--upgrade" not in l]


def _touch_newer_than_pyproject(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    t = os.path.getmtime(os.path.join(ROOT, "pyproject.toml")) + 10
    os.utime(path, (t, t))


def test_make_sim_installs_without_the_test_extra(tmp_path):
    installs = _make_dry_run("sim", tmp_path / "venv")
    assert installs and all("[test]" not in l for l in installs), installs
    assert any(l.endswith("-e .") for l in installs), installs


def test_make_test_after_make_sim_installs_the_test_extra(tmp_path):
    venv = tmp_path / "venv"
    _touch_newer_than_pyproject(venv / ".installed")  # what `make sim` leaves
    assert [l for l in _make_dry_run("test", venv) if "'.[test]'" in l], "no test tools"
    assert not [l for l in _make_dry_run("sim", venv)], "make sim again reinstalls"
    _touch_newer_than_pyproject(venv / ".installed-test")  # what `make test` leaves
    assert not _make_dry_run("test", venv)


def _fake_npm_package(root):
    package = root / virtual_pen.MICROPYTHON_NPM
    package.mkdir(parents=True)
    (package / "package.json").write_text("{}")


def test_node_and_its_micropython_package_present_is_no_problem(tmp_path):
    _fake_npm_package(tmp_path)
    assert virtual_pen.node_problem(os.path.realpath(sys.executable), tmp_path) is None


def test_without_the_micropython_package_the_commands_say_what_to_run(tmp_path, capsys,
                                                                      monkeypatch):
    problem = virtual_pen.node_problem(sys.executable, tmp_path)
    assert "micropython-webassembly-pyscript" in problem
    assert "run `make test` once, or `npm ci`" in problem
    monkeypatch.setattr(virtual_pen, "ROOT", tmp_path)
    assert cli.main(["bench"]) == 2
    assert cli.main(["virtual-pen", "--node", sys.executable]) == 2
    err = capsys.readouterr().err
    for command in ("bench", "virtual-pen"):
        assert "cryopen %s: needs the MicroPython WebAssembly port from npm" % command in err
    assert "Traceback" not in err and err.count("`npm ci`") == 2


def test_without_node_the_commands_say_so(tmp_path, capsys, monkeypatch):
    _fake_npm_package(tmp_path)
    monkeypatch.setattr(virtual_pen, "ROOT", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cli.main(["bench"]) == 2
    assert cli.main(["virtual-pen", "--node", str(tmp_path / "no-node")]) == 2
    err = capsys.readouterr().err
    assert "cryopen bench: needs Node.js (node not found on PATH)" in err
    assert "cryopen virtual-pen: needs Node.js (%s not found)" % (tmp_path / "no-node") in err
    assert err.count("run `make test` once, or `npm ci`") == 2


def test_a_failing_micropython_bench_reports_nodes_error_not_its_stack(monkeypatch):
    stderr = ("node:internal/modules/esm/resolve:873\n  throw new ERR_MODULE_NOT_FOUND(...);\n"
              "Error [ERR_MODULE_NOT_FOUND]: Cannot find package '@micropython/x'\n"
              "    at packageResolve (node:internal/modules/esm/resolve:873:9)\n")
    monkeypatch.setattr(bench.subprocess, "run", lambda *a, **k: subprocess.CompletedProcess(
        a, 1, stdout="", stderr=stderr))
    with pytest.raises(bench.BenchError) as e:
        bench._micropython_run()
    assert "Node exit status 1" in str(e.value) and "ERR_MODULE_NOT_FOUND" in str(e.value)
    assert "    at " not in str(e.value)
