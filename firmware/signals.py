"""What the clinician hears and sees: buzzer and LED levels as a pure function
of time, state, the worst alarm and the profile announcement. The HAL only sets
the pin levels.

Alarm bursts follow IEC 60601-1-8: high priority 10 pulses, medium 3, low 2;
pulses of 75 to 200 ms; tones within 150 to 1000 Hz.

Without a display the pen says which profile it is in by its number in the
clinic configuration's list: at boot and at each change, the LED blinks and the
buzzer beeps that many times, a long pulse counting five (7: long, short, short).
The announcement is a higher pitch and a slower rhythm than any alarm burst, so
that two or three beeps cannot be taken for a low or medium alarm.
"""
from firmware import alarms, states
from firmware.compat import const, ticks_diff

BEEP_NONE = const(0)
BEEP_SECOND = const(1)  # one click per second of application
BEEP_NEAR = const(2)  # the last second before a cutoff
BEEP_LOW = const(3)
BEEP_MEDIUM = const(4)
BEEP_HIGH = const(5)
BEEP_REFUSED = const(6)  # a press the pen cannot act on: one low tone
BEEP_PROFILE = const(7)  # the profile's number, announced
BEEP_NAMES = ("", "second", "near_end", "alarm_low", "alarm_medium", "alarm_high", "refused",
              "profile")
REFUSED_MS = const(300)

# pattern: pulses per burst, on ms, off ms, burst period ms, tone Hz
_PATTERNS = (
    None,
    (1, 50, 950, 1000, 1000),
    (4, 125, 125, 1000, 1000),
    (2, 150, 150, 30000, 440),
    (3, 150, 150, 10000, 660),
    (10, 100, 100, 5000, 880),
    (1, 250, 50, REFUSED_MS, 220),
)
_ALARM_BEEP = (BEEP_NONE, BEEP_LOW, BEEP_MEDIUM, BEEP_HIGH)  # by priority

# The profile announcement: a short pulse per unit, a long one per five, each
# followed by a gap; blinks and beeps together.
ANNOUNCE_HZ = const(1320)
ANNOUNCE_SHORT_MS = const(200)
ANNOUNCE_LONG_MS = const(700)
ANNOUNCE_GAP_MS = const(300)
ANNOUNCE_FIVE = const(5)  # what a long pulse counts

# LED per state, as a burst: pulses, on ms, off ms, period ms (off 0: steady on).
# DONE is a heartbeat, two short flashes every 2 s: never dark, so that a pen whose
# session is over is never taken for one that is switched off.
_LED = (
    (1, 100, 100, 200),  # BOOT: fast
    (1, 1000, 0, 1000),  # IDLE: steady
    (1, 250, 250, 500),  # TREATING
    (1, 1000, 1000, 2000),  # LOCKOUT: slow
    (1, 100, 100, 200),  # FAULT: fast
    (2, 100, 200, 2000),  # DONE: heartbeat
)

NEAR_END_MS = const(1000)


def pulse(pattern, phase_ms):
    """True while the pattern (pulses, on ms, off ms, period ms, ...) is on, phase_ms
    after the burst began."""
    on = pattern[1]
    slot = on + pattern[2]
    phase = phase_ms % pattern[3]
    if phase >= pattern[0] * slot:
        return False
    return phase % slot < on


def led(state, now_ms):
    """The LED's state pattern (Signals.led adds the announcement)."""
    return pulse(_LED[state], now_ms)


def announce_pulse(count, phase_ms):
    """1 while the announcement of `count` is on, phase_ms after it began, 0 in a
    gap, -1 once it is over. Integers only: it runs in the tick."""
    longs = count // ANNOUNCE_FIVE
    n = longs + count % ANNOUNCE_FIVE
    k = 0
    while k < n:
        on = ANNOUNCE_LONG_MS if k < longs else ANNOUNCE_SHORT_MS
        if phase_ms < on:
            return 1
        phase_ms -= on
        if phase_ms < ANNOUNCE_GAP_MS:
            return 0
        phase_ms -= ANNOUNCE_GAP_MS
        k += 1
    return -1


class Signals:
    def __init__(self):
        self.beep = BEEP_NONE
        self.tone_hz = 0
        self.alarm_since_ms = 0
        self.alarm_prio = alarms.NONE
        self.announce_count = 0  # the number being announced; 0: none
        self.announce_ms = 0  # when it began
        self._announce_next = 0  # asked for: begins at the next update
        self._announce_on = 0  # this update's announce_pulse()

    def announce(self, count):
        """Announces a profile's number (from 1), from the next update on."""
        self._announce_next = count

    def led(self, state, now_ms):
        """The LED: the announcement while it plays (never over FAULT's fast blink),
        else the state's pattern."""
        if self.announce_count and state != states.FAULT:
            return self._announce_on == 1
        return led(state, now_ms)

    def update(self, now_ms, priority, app_ms, left_ms, refused_ms=-1):
        """priority: worst active alarm. app_ms: time into the application, or -1.
        left_ms: time to the nearest cutoff of the application. refused_ms: time since
        a refused press, or -1. An alarm sounds over everything else."""
        if priority != self.alarm_prio:
            self.alarm_prio = priority
            self.alarm_since_ms = now_ms
        self._play_announcement(now_ms, app_ms)
        if priority != alarms.NONE:
            beep = _ALARM_BEEP[priority]
            phase = ticks_diff(now_ms, self.alarm_since_ms)
        elif refused_ms >= 0:
            beep = BEEP_REFUSED
            phase = refused_ms
        elif app_ms < 0:
            beep = BEEP_PROFILE if self.announce_count else BEEP_NONE
        elif left_ms <= NEAR_END_MS:
            beep = BEEP_NEAR
            phase = NEAR_END_MS - left_ms
        else:
            beep = BEEP_SECOND
            phase = app_ms
        self.beep = beep
        if beep == BEEP_PROFILE:
            self.tone_hz = ANNOUNCE_HZ if self._announce_on == 1 else 0
            return self.tone_hz
        pattern = _PATTERNS[beep]  # None for BEEP_NONE
        if pattern is not None and pulse(pattern, phase):
            self.tone_hz = pattern[4]
        else:
            self.tone_hz = 0
        return self.tone_hz

    def _play_announcement(self, now_ms, app_ms):
        """Starts an announcement asked for, and ends one that is over or that an
        application interrupts (its beeps then count the seconds)."""
        if self._announce_next:
            self.announce_count = self._announce_next
            self.announce_ms = now_ms
            self._announce_next = 0
        if not self.announce_count:
            return
        on = announce_pulse(self.announce_count, ticks_diff(now_ms, self.announce_ms))
        if on < 0 or app_ms >= 0:
            self.announce_count = 0
            on = 0
        self._announce_on = on
