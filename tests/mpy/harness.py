"""The part of pytest that tests/core needs, for MicroPython: import each test
module, call every top-level test_* function with no arguments, count passes
and failures. Started by tests/mpy/run.mjs."""
import gc
import sys

import micropython


def _heap_depth():
    # heap_unlock() returns the depth it leaves; locking first makes this a probe.
    micropython.heap_lock()
    return micropython.heap_unlock()


def _unlock_heap():
    """Unlocks a heap that a failing test left locked; True if it had to."""
    depth = _heap_depth()
    was_locked = depth > 0
    while depth:
        depth = micropython.heap_unlock()
    return was_locked


def _run_test(qualname, fn):
    failure = None
    try:
        fn()
    except BaseException as e:  # SystemExit too: one test must not end the run
        failure = e
    # Nothing may allocate before the heap is unlocked again.
    if _unlock_heap():
        print("FAIL", qualname, "(left the heap locked)")
        return False
    if failure is None:
        return True
    print("FAIL", qualname)
    sys.print_exception(failure)
    return False


def _tests_of(module):
    names = sorted(n for n in dir(module) if n.startswith("test_"))
    return [(n, getattr(module, n)) for n in names if callable(getattr(module, n))]


def run_module(name):
    """(passed, failed) for one module; an import error counts as one failure."""
    try:
        __import__(name)
    except BaseException as e:
        _unlock_heap()
        print("FAIL", name, "(import)")
        sys.print_exception(e)
        return 0, 1
    passed = failed = 0
    for test, fn in _tests_of(sys.modules[name]):
        if _run_test(name + "::" + test, fn):
            passed += 1
        else:
            failed += 1
        gc.collect()
    return passed, failed


def main(modules):
    passed = failed = 0
    for name in modules:
        p, f = run_module(name)
        print("%s: %d passed, %d failed" % (name, p, f))
        passed += p
        failed += f
    print("%d passed, %d failed" % (passed, failed))
    return passed, failed
