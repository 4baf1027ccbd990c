"""Without a display the pen says which profile it is in, by its number in the
clinic configuration's list: that many blinks and beeps, a long one counting five,
at boot and at each change; DONE is a heartbeat, never dark like a pen switched
off. Runs under CPython and under MicroPython (tests/mpy/run.mjs)."""
from firmware import alarms, signals, states
from tests.core.pen_rig import Rig, profile

TICK = 10


def pulses(levels):
    """(start index, length) of each run of True in a list of levels."""
    runs = []
    start = None
    for i, on in enumerate(levels + [False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


def announcement(count, ms=6000):
    """The LED levels and the tones, tick by tick, of an announcement in IDLE."""
    s = signals.Signals()
    s.announce(count)
    leds, tones = [], []
    for t in range(0, ms, TICK):
        tones.append(s.update(t, alarms.NONE, -1, 0))
        leds.append(s.announce_count != 0 and s.led(states.IDLE, t))
    return leds, tones, s


def code(runs):
    """The number the pulses spell: a long one counts five."""
    return sum(signals.ANNOUNCE_FIVE if n * TICK >= signals.ANNOUNCE_LONG_MS else 1
               for _, n in runs)


def test_the_announcement_spells_the_number_in_blinks_and_beeps_together():
    for count in (1, 2, 3, 4, 5, 6, 7, 11, 16):
        leds, tones, s = announcement(count)
        blinks = pulses(leds)
        beeps = pulses([hz == signals.ANNOUNCE_HZ for hz in tones])
        assert code(blinks) == count and code(beeps) == count, (count, blinks, beeps)
        assert blinks == beeps  # the same pulses, seen and heard
        assert len(blinks) == count // 5 + count % 5
        assert s.announce_count == 0 and s.beep == signals.BEEP_NONE  # it plays once


def test_the_announcement_cannot_be_taken_for_an_alarm_burst():
    _, tones, _ = announcement(3)
    heard = {hz for hz in tones if hz}
    alarm_tones = {p[4] for p in signals._PATTERNS[signals.BEEP_LOW:signals.BEEP_HIGH + 1]}
    assert heard == {signals.ANNOUNCE_HZ} and not heard & alarm_tones
    for _, n in pulses([hz != 0 for hz in tones]):
        assert n * TICK >= signals.ANNOUNCE_SHORT_MS  # longer than any alarm pulse (200 ms at most)


def test_an_alarm_sounds_over_it_and_an_application_ends_it():
    s = signals.Signals()
    s.announce(4)
    s.update(0, alarms.NONE, -1, 0)
    assert s.update(10, alarms.HIGH, -1, 0) == 880 and s.beep == signals.BEEP_HIGH
    s = signals.Signals()
    s.announce(4)
    s.update(0, alarms.NONE, -1, 0)
    s.update(10, alarms.NONE, 0, 15000)
    assert s.announce_count == 0 and s.beep == signals.BEEP_SECOND
    assert not s.led(states.TREATING, 300) and s.led(states.TREATING, 100)  # the state's blink


def test_done_is_a_heartbeat_never_dark_for_two_seconds_and_unlike_any_other_state():
    levels = {st: [signals.led(st, t) for t in range(0, 6000, TICK)]
              for st in range(len(states.STATE_NAMES))}
    done = levels[states.DONE]
    flashes = pulses(done)
    assert len(flashes) == 6  # two every two seconds
    gaps = [b[0] - (a[0] + a[1]) for a, b in zip(flashes, flashes[1:])]
    assert max(gaps) * TICK < 2000
    for st, other in levels.items():
        if st != states.DONE:
            assert other != done, states.STATE_NAMES[st]


def test_the_pen_announces_its_profile_at_boot_and_at_each_change():
    short, after, mod = profile("short"), profile("aftercare"), profile("moderate")
    rig = Rig(after, boot=False)
    rig.pen.offer((mod, after, short), 1)  # at boot: the second in the list
    beeps = []
    for _ in range(300):
        beeps.append(rig.tick().tone_hz == signals.ANNOUNCE_HZ)
    assert code(pulses(beeps)) == 2
    assert rig.pen.next_profile(rig.t)  # a short press of mode: the third
    levels = []
    for _ in range(300):
        out = rig.tick()
        levels.append((out.led, out.beep == signals.BEEP_PROFILE and out.tone_hz != 0))
    assert code(pulses([b for _, b in levels])) == 3
    assert code(pulses([led for led, _ in levels[:150]])) == 3  # 3 x (200 + 300) ms
    assert all(led for led, _ in levels[150:])  # then IDLE's steady light


def test_a_refused_press_sounds():
    rig = Rig(profile("moderate"))
    rig.pen.offer((profile("moderate"),), 0)
    rig.run_ms(2000)
    assert not rig.pen.next_profile(rig.t)  # one profile only: nothing to step to
    assert rig.tick().beep == signals.BEEP_REFUSED and rig.out.tone_hz == 220
