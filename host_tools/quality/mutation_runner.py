"""The test command `make mutation` gives mutmut for each mutant, in one process
with no pytest start-up: the core tests (tests/core), then the safety document's
checks (tests/host/test_safety_doc.py), then a fixed set of generated sequences
of the valve-invariant property test, stopping at the first failure. Exit status
0: every test passed, so the mutant survived.

The generated sequences come from a fixed seed, and no failing one is stored:
every mutant meets the same sequences and the report is reproducible.
CRYOPEN_EXAMPLES sets their number (200).

    python -m host_tools.quality.mutation_runner     (from the repository root)
"""
import os
import sys
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = int(os.environ.get("CRYOPEN_EXAMPLES", "200"))


def _tests(module_name):
    __import__(module_name)
    module = sys.modules[module_name]
    names = sorted(n for n in dir(module) if n.startswith("test_"))
    return [(module_name + "::" + n, getattr(module, n)) for n in names
            if callable(getattr(module, n))]


def _core():
    """The core tests; those named after the module being mutated (CRYOPEN_MUTATING,
    set by host_tools/quality/mutation.py) first, as they most often fail first."""
    folder = os.path.join(ROOT, "tests", "core")
    names = sorted(n[:-3] for n in os.listdir(folder)
                   if n.startswith("test_") and n.endswith(".py"))
    stem = os.path.splitext(os.path.basename(os.environ.get("CRYOPEN_MUTATING", "")))[0]
    if stem:
        names.sort(key=lambda n: stem not in n)
    for name in names:
        yield from _tests("tests.core." + name)


def _property():
    from hypothesis import HealthCheck, given, settings

    from tests.host import test_valve_invariants as prop

    run = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))(given(**prop.SEQUENCE)(
                       prop.check_sequence))
    yield "valve invariants (%d sequences)" % EXAMPLES, run


def _stages():
    yield from _core()
    yield from _tests("tests.host.test_safety_doc")
    yield from _property()


def _host_stand_ins():
    """What tests/conftest.py gives the core tests under CPython and a pen's MicroPython
    has built in: micropython-lib's ssd1306 driver (on framebuf's host stand-in)."""
    from host_tools.sim import screens

    sys.modules.setdefault("ssd1306", screens.driver())


def main():
    sys.path.insert(0, ROOT)
    _host_stand_ins()
    passed = 0
    name = "import"
    try:
        for name, fn in _stages():
            fn()
            passed += 1
    except BaseException:  # an import error or a failed test: the mutant is killed
        traceback.print_exc()
        print("%s failed, after %d passed" % (name, passed))
        return 1
    print("%d passed: the mutant survived" % passed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
