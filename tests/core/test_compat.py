"""Tick arithmetic across the 2**30 ms wrap of the port's tick counter."""
from firmware.compat import TICKS_PERIOD, ticks_add, ticks_diff


def test_ticks_diff_across_the_wrap():
    assert ticks_diff(5, TICKS_PERIOD - 5) == 10
    assert ticks_diff(TICKS_PERIOD - 5, 5) == -10


def test_ticks_add_wraps_and_ticks_diff_undoes_it():
    assert ticks_add(TICKS_PERIOD - 5, 10) == 5
    for start in (0, 1, TICKS_PERIOD // 2, TICKS_PERIOD - 1):
        for delta in (-(TICKS_PERIOD // 2), -1, 0, 1, TICKS_PERIOD // 2 - 1):
            assert ticks_diff(ticks_add(start, delta), start) == delta
