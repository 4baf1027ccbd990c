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


def pi(kp, ki, ff, start_cc=TARGET_CC):
    """A regulator reset at start_cc; board valve timing."""
    reg = Regulator(kp, ki, ff, board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS)
    reg.reset(start_cc)
    return reg


def duty_after(reg, err_cc, ticks=1, dt_ms=TICK_MS):
    for _ in range(ticks):
        reg.update(dt_ms, TARGET_CC + err_cc, TARGET_CC)
    # Integer arithmetic only: a float in the tick would allocate on the device.
    assert type(reg.duty) is int, reg.duty
    return reg.duty


def test_reset_clears_the_duty():
    reg = sim_regulator()
    valve_trace(reg, 50, START_CC)
    reg.reset(START_CC)
    assert reg.duty == 0


def test_proportional_term_in_per_mille_per_c():
    # Out of the integrator's band: P alone, rounded down. 12.34 C x 7 = 86.38 per mille.
    assert duty_after(pi(7, 1000, 0), 1234) == 86
    assert duty_after(pi(7, 1000, 0), -1234) == 0


def test_feed_forward_scales_with_how_far_the_target_lies_below_the_start():
    # 56.78 C below the start x 7 per mille per C = 397.46 per mille.
    assert duty_after(pi(0, 0, 7, TARGET_CC + 5678), 0) == 397
    # A tip already at or below target gets none.
    assert duty_after(pi(0, 0, 7, TARGET_CC - 1000), 0) == 0
    assert duty_after(pi(0, 0, 7, TARGET_CC), 0) == 0


def test_integral_in_per_mille_per_c_second_and_held_outside_the_band():
    reg = pi(0, 33, 0)
    # 1 s at +1.23 C: 1.23 x 33 = 40.59 per mille, rounded down per tick's sub-per-mille steps.
    assert duty_after(reg, 123, 100) == 40
    # Outside the band the integral neither grows nor is lost: P plus what was charged.
    reg.kp = 10
    assert duty_after(reg, 500, 10) == 50 + 40
    assert duty_after(reg, 123) == 12 + 40  # back inside: charging resumes from there


def test_integral_keeps_sub_per_mille_resolution():
    # 0.01 C with ki 3330: a third of a per mille per tick; the duty moves on the 4th tick.
    reg = pi(0, 3330, 0)
    assert [duty_after(reg, 1) for _ in range(4)] == [0, 0, 0, 1]


def test_integral_charges_only_within_the_band_and_never_further_into_a_rail():
    # (duty before the I term, error in cc, whether one tick charges the integral).
    # ki 10000: 0.01 C for 10 ms charges one per mille.
    cases = ((500, 299, True), (500, -299, True), (500, 300, False), (500, -300, False),
             (999, 1, True), (1000, 1, False), (1000, -1, True),
             (1, -1, True), (0, -1, False), (0, 1, True))
    for base, err, charges in cases:
        reg = pi(0, 10000, 100, TARGET_CC + base)  # ff 100: base per mille = cc above target
        reg.update(TICK_MS, TARGET_CC + err, TARGET_CC)
        assert (reg.integ != 0) == charges, (base, err)
        assert reg.duty == min(FULL, max(0, base + err if charges else base)), (base, err)


def test_integral_is_bounded_to_full_duty_either_way():
    reg = pi(0, 100000, 0)
    assert duty_after(reg, 299, 5) == FULL
    reg = pi(0, 100000, 100, TARGET_CC + 500)  # 500 per mille of feed-forward
    assert duty_after(reg, -299) == 0  # the I term is at most -1000: 500 - 1000 clamps to 0
    assert duty_after(reg, 0) == 0
    # Bounded, not wound: one tick of +2.99 C brings it back up to full.
    assert duty_after(reg, 299) == FULL


def test_the_valve_command_is_a_bool():
    assert valve_trace(sim_regulator(), 20, TARGET_CC - 500) == [False] * 20
    assert valve_trace(sim_regulator(), 20, START_CC) == [True] * 20


def test_minimum_on_and_off_times_hold_for_any_tick_length():
    # Ticks jitter: the times hold whatever the tick, down to 1 ms.
    for dt in (1, 7):
        for duty in (30, 500, 970):
            reg = fixed_duty(duty, board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS)
            trace = [reg.update(dt, TARGET_CC, TARGET_CC) for _ in range(2000 // dt)]
            opened, closed = runs_ms(trace, True), runs_ms(trace, False)
            assert opened and closed, (dt, duty)
            assert min(opened) * dt // TICK_MS >= board.VALVE_MIN_ON_MS, (dt, duty)
            assert min(closed) * dt // TICK_MS >= board.VALVE_MIN_OFF_MS, (dt, duty)


def test_pulses_at_low_and_high_duty_last_the_minimum_the_valve_allows():
    # The finest resolution the valve allows: no pulse longer than it needs to be.
    trace = valve_trace(fixed_duty(30, board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS), 2000)
    assert set(runs_ms(trace, True)) == {board.VALVE_MIN_ON_MS}
    trace = valve_trace(fixed_duty(970, board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS), 2000)
    assert set(runs_ms(trace, False)) == {board.VALVE_MIN_OFF_MS}


def test_a_late_tick_buys_no_long_opening_or_closing_later():
    # A tick 2 s late at full duty, then zero duty: the valve closes within its
    # minimum times and stays closed. (Feed-forward only: the target sets the duty.)
    full, zero = TARGET_CC, TARGET_CC + FULL * 100
    limit = (board.VALVE_MIN_ON_MS + board.VALVE_MIN_OFF_MS) // TICK_MS
    reg = fixed_duty(FULL, board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS)
    reg.update(2000, TARGET_CC, full)
    trace = [reg.update(TICK_MS, TARGET_CC, zero) for _ in range(100)]
    assert trace[0] and not any(trace[limit + 1:])
    # And the other way: 2 s late while open at zero duty. The debt it pays back is
    # bounded to 40 ms of full flow: at half duty, 80 ms closed, then it pulses again.
    half = TARGET_CC + FULL * 50
    reg = fixed_duty(FULL, board.VALVE_MIN_ON_MS, board.VALVE_MIN_OFF_MS)
    reg.update(TICK_MS, TARGET_CC, full)
    reg.update(2000, TARGET_CC, zero)
    trace = [reg.update(TICK_MS, TARGET_CC, half) for _ in range(100)]
    assert trace.index(True) * TICK_MS == 80


def test_on_a_tie_the_valve_keeps_its_state():
    # At exactly half duty the accumulated error returns to zero each pulse: holding
    # there gives 20 ms pulses, half the switching 10 ms minimum times would allow.
    trace = valve_trace(fixed_duty(500, 10, 10), 200)
    assert set(runs_ms(trace, True)) == set(runs_ms(trace, False)) == {20}
