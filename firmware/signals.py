"""What the clinician hears and sees: buzzer and LED levels as a pure function
of time, state and the worst alarm. The HAL only sets the pin levels.

Alarm bursts follow IEC 60601-1-8: high priority 10 pulses, medium 3, low 2;
pulses of 75 to 200 ms; tones within 150 to 1000 Hz.
"""
from firmware import alarms
from firmware.compat import const, ticks_diff

BEEP_NONE = const(0)
BEEP_SECOND = const(1)  # one click per second of application
BEEP_NEAR = const(2)  # the last second before a cutoff
BEEP_LOW = const(3)
BEEP_MEDIUM = const(4)
BEEP_HIGH = const(5)
BEEP_REFUSED = const(6)  # a press the pen cannot act on: one low tone
BEEP_NAMES = ("", "second", "near_end", "alarm_low", "alarm_medium", "alarm_high", "refused")
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

# LED per state: on ms, off ms (off 0: steady on, on 0: off)
_LED = (
    (100, 100),  # BOOT: fast
    (1, 0),  # IDLE: steady
    (250, 250),  # TREATING
    (1000, 1000),  # LOCKOUT: slow
    (100, 100),  # FAULT: fast
    (0, 1),  # DONE: off
)

NEAR_END_MS = const(1000)


def pulse(pattern, phase_ms):
    """True while the pattern's tone is on, phase_ms after the burst began."""
    n, on, off, period, _ = pattern
    phase = phase_ms % period
    if phase >= n * (on + off):
        return False
    return phase % (on + off) < on


def led(state, now_ms):
    on, off = _LED[state]
    if off == 0:
        return True
    if on == 0:
        return False
    return now_ms % (on + off) < on


class Signals:
    def __init__(self):
        self.beep = BEEP_NONE
        self.tone_hz = 0
        self.alarm_since_ms = 0
        self.alarm_prio = alarms.NONE

    def update(self, now_ms, priority, app_ms, left_ms, refused_ms=-1):
        """priority: worst active alarm. app_ms: time into the application, or -1.
        left_ms: time to the nearest cutoff of the application. refused_ms: time since
        a refused press, or -1. An alarm sounds over everything else."""
        if priority != self.alarm_prio:
            self.alarm_prio = priority
            self.alarm_since_ms = now_ms
        if priority != alarms.NONE:
            beep = _ALARM_BEEP[priority]
            phase = ticks_diff(now_ms, self.alarm_since_ms)
        elif refused_ms >= 0:
            beep = BEEP_REFUSED
            phase = refused_ms
        elif app_ms < 0:
            beep = BEEP_NONE
        elif left_ms <= NEAR_END_MS:
            beep = BEEP_NEAR
            phase = NEAR_END_MS - left_ms
        else:
            beep = BEEP_SECOND
            phase = app_ms
        self.beep = beep
        pattern = _PATTERNS[beep]  # None for BEEP_NONE
        if pattern is not None and pulse(pattern, phase):
            self.tone_hz = pattern[4]
        else:
            self.tone_hz = 0
        return self.tone_hz
