"""Helpers for tests that run under both CPython (pytest) and MicroPython."""


def raises(exc, fn, *args):
    """Calls fn(*args) and returns the exception of type exc it raised; fails otherwise."""
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn), exc.__name__))


def without_allocating(fn, *args):
    """fn(*args) with MicroPython's heap locked, so that any allocation in it raises
    MemoryError; under CPython just the call. Returns what fn returned."""
    try:
        import micropython
    except ImportError:
        return fn(*args)
    micropython.heap_lock()
    try:
        return fn(*args)
    finally:
        micropython.heap_unlock()
