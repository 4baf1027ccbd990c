"""Helpers for tests that run under both CPython (pytest) and MicroPython."""


def raises(exc, fn, *args):
    """Calls fn(*args) and returns the exception of type exc it raised; fails otherwise."""
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn), exc.__name__))
