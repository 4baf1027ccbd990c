"""The few names that differ between MicroPython and CPython.

Device code imports ``const`` from here so that the same modules run on the
pen, in the host simulator and under pytest.
"""
try:
    from micropython import const
except ImportError:  # CPython: const() is only a marker for the MicroPython compiler

    def const(value):
        return value


# Tick counters wrap like time.ticks_ms() on the ports (2**30 ms, about 12.4 days).
TICKS_PERIOD = const(1 << 30)
_TICKS_HALF = const(1 << 29)
TICKS_MASK = const((1 << 30) - 1)


def ticks_diff(new, old):
    """Signed ms from old to new, correct across the tick counter's wrap."""
    d = (new - old) & TICKS_MASK
    if d >= _TICKS_HALF:
        # Two halves: the period, 2**30, is not a small int on 32-bit ports,
        # and subtracting it at once would allocate a long int.
        d = d - _TICKS_HALF - _TICKS_HALF
    return d


def ticks_add(ticks, delta):
    # Offset by half a period so that no intermediate outgrows a small int (which
    # would allocate); adding the half back modulo the period flips bit 29.
    return ((ticks - _TICKS_HALF + delta) & TICKS_MASK) ^ _TICKS_HALF
