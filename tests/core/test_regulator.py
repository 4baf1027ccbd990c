"""Integer PI regulator and the valve modulator behind it."""
from boards.sim import board
from firmware.regulator import Regulator

TICK_MS = 10
TARGET_CC = -5000
START_CC = 2000  # skin temperature at the start of an application
FULL = 1000  # duty per mille
NEAR_CC = 250  # close enough to target for the integrator, far enough to pin the output


def sim_regulator():
    reg = Regulator(board.REG_KP, board.REG_KI, board.REG_FF,
                    board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS)
    reg.reset(START_CC)
    return reg


def fixed_duty(duty, min_on_ms, min_off_ms):
    """A regulator whose output is exactly duty: feed-forward only, no P or I."""
    reg = Regulator(0, 0, 1, min_on_ms, min_off_ms)
    reg.reset(TARGET_CC + duty * 100)
    return reg


def valve_trace(reg, ticks, temp_cc=TARGET_CC):
    return [reg.update(TICK_MS, temp_cc, TARGET_CC) for _ in range(ticks)]


def runs_ms(trace, level):
    """Lengths in ms of the complete runs of the valve at level (the last run may be cut short)."""
    runs, n = [], 0
    for v in trace:
        if v == level:
            n += 1
        elif n:
            runs.append(n * TICK_MS)
            n = 0
    return runs


def test_full_duty_far_above_target():
    reg = sim_regulator()
    assert all(valve_trace(reg, 50, START_CC))
    assert reg.duty == FULL


def test_zero_duty_well_below_target():
    reg = sim_regulator()
    assert not any(valve_trace(reg, 100, TARGET_CC - 500))
    assert reg.duty == 0


def test_no_windup_after_a_long_time_at_full_duty():
    wound = sim_regulator()
    valve_trace(wound, 2000, TARGET_CC + NEAR_CC)  # 20 s pinned at full duty, near target
    assert wound.duty == FULL
    fresh = sim_regulator()
    below = TARGET_CC - 100
    wound.update(TICK_MS, below, TARGET_CC)
    fresh.update(TICK_MS, below, TARGET_CC)
    assert wound.duty <= fresh.duty + 10
    assert wound.duty < FULL // 2
    assert not all(valve_trace(wound, 3, below))  # the valve closes within three ticks


def test_no_windup_after_a_long_time_at_zero_duty():
    wound = sim_regulator()
    valve_trace(wound, 2000, TARGET_CC - NEAR_CC)  # 20 s pinned at zero duty, near target
    assert wound.duty == 0
    fresh = sim_regulator()
    above = TARGET_CC + 100
    wound.update(TICK_MS, above, TARGET_CC)
    fresh.update(TICK_MS, above, TARGET_CC)
    assert wound.duty >= fresh.duty - 10
    assert any(valve_trace(wound, 3, above))  # the valve opens within three ticks


def test_minimum_on_and_off_times_hold_over_a_long_run():
    for min_on, min_off in ((board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS), (50, 30)):
        for duty in (30, 100, 900, 970):
            trace = valve_trace(fixed_duty(duty, min_on, min_off), 2000)
            opened, closed = runs_ms(trace, True), runs_ms(trace, False)
            assert opened and closed, duty
            assert min(opened) >= min_on, (duty, min_on, min(opened))
            assert min(closed) >= min_off, (duty, min_off, min(closed))


def test_mean_opening_over_10_s_matches_the_duty():
    for duty in (30, 250, 500, 750, 970):
        trace = valve_trace(fixed_duty(duty, board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS), 1000)
        mean = sum(1 for v in trace if v) * FULL // len(trace)
        assert abs(mean - duty) <= 30, (duty, mean)
