"""pytest set-up shared by every test directory."""
import hashlib
import json
import sys

import pytest

# MicroPython-only tests (heap locking, interpreter limits): run by tests/mpy/run.mjs.
collect_ignore = ["mpy"]

# What a pen's MicroPython has for its display and CPython lacks: `framebuf` and
# micropython-lib's `ssd1306` driver, their host stand-ins for the tests only
# (host_tools/sim/framebuf_host.py; the driver itself, host_tools/sim/vendor/).
from host_tools.sim import screens as _screens  # noqa: E402

sys.modules.setdefault("ssd1306", _screens.driver())


@pytest.fixture(scope="session")
def intact_pen_files(tmp_path_factory):
    """A directory holding what an intact deploy leaves on a pen: a file and the
    manifest that lists it."""
    root = tmp_path_factory.mktemp("pen_files")
    main = b"from hal.boot import boot\n"
    (root / "main.py").write_bytes(main)
    manifest = {"files": {"main.py": hashlib.sha256(main).hexdigest()}}
    (root / "cryopen_manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(autouse=True)
def _pen_file_system(intact_pen_files, monkeypatch):
    """hal.boot checks the pen's files before it treats (hal/integrity.py). On the
    host the pen's file system is that directory, never the host's root: a test
    that boots a pen boots one whose firmware is intact unless it says otherwise."""
    from hal import integrity

    monkeypatch.setattr(integrity, "ROOT", str(intact_pen_files) + "/")


@pytest.fixture(autouse=True)
def _pen_flash(tmp_path, monkeypatch):
    """A booted pen keeps its state and record under hal.boot.FLASH_ROOT: on the host,
    a fresh directory per test, never the host's root."""
    from hal import boot

    monkeypatch.setattr(boot, "FLASH_ROOT", str(tmp_path) + "/")


# The test files that take longest, run first: pytest-xdist hands out files in
# collection order (`make test` runs a file per worker), so the long ones start at
# once on both cores and the short ones fill in around them, rather than one long
# file starting last while the other core idles.
SLOW_FIRST = ("tests/host/test_valve_invariants.py", "tests/host/test_micropython_suite.py",
              "tests/host/test_virtual_pen_run.py", "tests/host/test_contact_sweep.py",
              "tests/host/test_gauge.py", "tests/host/test_bench.py",
              "tests/host/test_stored_calibration.py", "tests/host/test_virtual_pen.py",
              "tests/host/test_power_cut.py", "tests/host/test_protocol_fuzz.py")


def pytest_collection_modifyitems(items):
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(SLOW_FIRST)))


# docs/SAFETY.md names the tests that prove each mitigation. When a run reports all
# of them (`make test` does), it fails unless every one of them passed. Reports,
# not collected items: under pytest-xdist only the controller sees every report.
_OUTCOMES = {}
# Counts a test module wants seen in every run, not only under `pytest -s` (the
# power-cut points tried, tests/host/test_power_cut.py): the lines it appends to its
# TERMINAL_SUMMARY list travel on the next report, so they reach the controller
# from a pytest-xdist worker too. Module name -> lines sent / lines received.
_SENT = {}
_SUMMARY = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    for name, module in list(sys.modules.items()):
        lines = getattr(module, "TERMINAL_SUMMARY", None) if name.startswith("tests.") else None
        if lines and len(lines) > _SENT.get(name, 0):
            report.user_properties.extend(("terminal_summary", name + "\n" + line)
                                          for line in lines[_SENT.get(name, 0):])
            _SENT[name] = len(lines)


def pytest_runtest_logreport(report):
    name = report.nodeid.split("[", 1)[0]
    if report.failed or (report.skipped and report.when == "setup"):
        _OUTCOMES[name] = False
    elif report.when == "call":
        _OUTCOMES.setdefault(name, True)
    for key, value in report.user_properties:
        if key == "terminal_summary":
            module, line = value.split("\n", 1)
            _SUMMARY.setdefault(module, []).append(line)


def pytest_sessionfinish(session, exitstatus):
    from host_tools.quality import safety_doc

    with open(safety_doc.DOC) as f:
        named = safety_doc.named_tests(f.read())
    if not set(named) <= set(_OUTCOMES):
        return  # a partial run, or a pytest-xdist worker: the whole suite makes the check
    not_passed = [t for t in named if not _OUTCOMES.get(t)]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if not_passed:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line("docs/SAFETY.md names tests that did not pass: "
                                + ", ".join(not_passed), red=True)
    elif reporter:
        reporter.write_line("docs/SAFETY.md: all %d named tests passed" % len(named))


def pytest_terminal_summary(terminalreporter):
    for name in sorted(_SUMMARY):
        terminalreporter.write_sep("-", name)
        for line in _SUMMARY[name]:
            terminalreporter.write_line(line)
