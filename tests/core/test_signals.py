"""Alarm sounds follow IEC 60601-1-8: pulses per burst by priority, burst
repetition, pulse length and pitch."""
from firmware import alarms, signals

TICK_MS = 10
GAP_MS = 1000  # longer than any pause between pulses inside one burst
WATCH_MS = 65000  # long enough for three bursts at the slowest repetition allowed


def first_two_bursts(priority):
    """The first two complete bursts, each a list of (start ms, length ms),
    and the set of tones heard, as the pen's tick would drive the buzzer."""
    s = signals.Signals()
    bursts, tones = [], set()
    start = last_end = None
    for t in range(0, WATCH_MS, TICK_MS):
        hz = s.update(t, priority, -1, 0)
        if hz and start is None:
            if last_end is None or t - last_end > GAP_MS:
                if len(bursts) == 2:
                    return bursts, tones
                bursts.append([])
            start = t
        elif not hz and start is not None:
            bursts[-1].append((start, t - start))
            start, last_end = None, t
        if hz:
            tones.add(hz)
    raise AssertionError("fewer than three bursts in %d ms" % WATCH_MS)


def burst_period_ms(bursts):
    return bursts[1][0][0] - bursts[0][0][0]


def test_high_priority_bursts_of_ten_pulses_every_2_5_to_15_s():
    bursts, _ = first_two_bursts(alarms.HIGH)
    assert [len(b) for b in bursts] == [10, 10]
    assert 2500 <= burst_period_ms(bursts) <= 15000


def test_medium_priority_bursts_of_three_pulses_every_2_5_to_30_s():
    bursts, _ = first_two_bursts(alarms.MEDIUM)
    assert [len(b) for b in bursts] == [3, 3]
    assert 2500 <= burst_period_ms(bursts) <= 30000


def test_low_priority_bursts_of_two_pulses():
    bursts, _ = first_two_bursts(alarms.LOW)
    assert [len(b) for b in bursts] == [2, 2]


def test_alarm_pulses_last_75_to_200_ms_at_150_to_1000_hz():
    for priority in (alarms.LOW, alarms.MEDIUM, alarms.HIGH):
        bursts, tones = first_two_bursts(priority)
        for burst in bursts:
            for _, length in burst:
                assert 75 <= length <= 200, (priority, length)
        assert tones and min(tones) >= 150 and max(tones) <= 1000, (priority, tones)


def test_silent_without_alarm_or_application():
    s = signals.Signals()
    for t in range(0, 3000, TICK_MS):
        assert s.update(t, alarms.NONE, -1, 0) == 0
