"""The mode button's gestures from its level, tick by tick."""
from firmware import buttons
from firmware.compat import TICKS_MASK


def gestures(levels, start_ms=0, tick_ms=10):
    """The gestures, one per tick, for a button whose level is levels[i] at tick i."""
    b = buttons.ModeButton()
    return [b.update((start_ms + i * tick_ms) & TICKS_MASK, down) for i, down in enumerate(levels)]


def test_a_press_released_before_two_seconds_is_one_short_press_on_release():
    got = gestures([False, True, True, True, False, False])
    assert got == [buttons.NONE] * 4 + [buttons.SHORT, buttons.NONE]
    held = [True] * (buttons.LONG_MS // 10)  # 1.99 s: still short
    assert gestures([False] + held + [False]) == [buttons.NONE] * (len(held) + 1) + [buttons.SHORT]


def test_a_hold_of_two_seconds_is_one_long_press_at_once_and_no_short_on_release():
    held = [True] * (buttons.LONG_MS // 10 + 1)  # pressed at 10 ms, 2 s held at 2010 ms
    got = gestures([False] + held + [True] * 300 + [False, False])
    assert got.index(buttons.LONG) == len(held)
    assert got.count(buttons.LONG) == 1 and buttons.SHORT not in got


def test_each_press_counts_anew_and_across_the_tick_counter_wrap():
    levels = [False, True, False] * 3 + [True] * (buttons.LONG_MS // 10 + 1) + [False]
    for start in (0, TICKS_MASK - 1000):
        got = gestures(levels, start)
        assert got.count(buttons.SHORT) == 3 and got.count(buttons.LONG) == 1, start
