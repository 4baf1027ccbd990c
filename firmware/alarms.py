"""Every alarm condition in one table (code, name, fault bit, priority, latching,
text). The pen, the trace, the display and docs/SAFETY.md all read this table.

Fault bits are latched by the supervisor until a deliberate reset. Non-latching
rows (low battery) describe a condition that inhibits new applications only; low
gas and no contact, which the pen raises itself, only warn.
"""
from firmware.compat import const

# Priorities follow IEC 60601-1-8; higher is worse, so the worst active is a max().
NONE = const(0)
LOW = const(1)
MEDIUM = const(2)
HIGH = const(3)
PRIORITY_NAMES = ("none", "low", "medium", "high")

# Condition bits: sensor, plausibility and system faults, then inputs from the HAL.
F_OPEN = const(1 << 0)
F_SHORT = const(1 << 1)
F_RANGE = const(1 << 2)
F_STALE = const(1 << 3)
F_STUCK = const(1 << 4)
F_RATE = const(1 << 5)
F_ADC = const(1 << 6)
F_NO_COOLING = const(1 << 7)
F_STILL_COOLING = const(1 << 8)
F_FLOOR = const(1 << 9)
F_EXCEPTION = const(1 << 10)
F_WATCHDOG = const(1 << 11)
F_BACKSTOP = const(1 << 12)
F_LOW_BATTERY = const(1 << 13)
F_DISAGREE = const(1 << 14)
F_MASTER_LEAK = const(1 << 15)
F_INTEGRITY = const(1 << 16)  # raised by the start-up check (hal/integrity.py), never the tick
F_NO_RECORD = const(1 << 17)  # the shell: the flash failed and nobody accepted that yet
F_LOW_GAS = const(1 << 18)  # the pen's gauge (firmware/gauge.py): advisory, it inhibits nothing
F_CONFIG = const(1 << 19)  # the shell: the stored clinic configuration was refused at boot
F_CALIBRATION = const(1 << 20)  # the shell: the stored sensor calibration was refused at boot
F_NO_CONTACT = const(1 << 21)  # the pen: treating with the tip judged off the skin; advisory


# code, name, bit, priority, latching, text
TABLE = (
    (1, "thermistor_open", F_OPEN, HIGH, True, "Tip sensor open circuit. Closing both valves."),
    (2, "thermistor_short", F_SHORT, HIGH, True, "Tip sensor short circuit. Closing both valves."),
    (3, "reading_out_of_range", F_RANGE, HIGH, True, "Tip reading outside -100..+60 C. Closing both valves."),
    (4, "reading_stale", F_STALE, HIGH, True, "No tip reading for 50 ms. Closing both valves."),
    (5, "thermistor_stuck", F_STUCK, HIGH, True, "Tip reading frozen while cooling. Closing both valves."),
    (6, "rate_implausible", F_RATE, HIGH, True, "Tip reading moved faster than physics allows. Closing both valves."),
    (7, "adc_error", F_ADC, HIGH, True, "Tip converter error. Closing both valves."),
    (8, "no_cooling", F_NO_COOLING, MEDIUM, True,
     "Valve open but tip not cooling: cartridge empty, pen tilted or nozzle blocked."),
    (9, "valve_leak", F_STILL_COOLING, HIGH, True,
     "Valve commanded closed; tip still cooling. Closing the second valve. Remove from skin."),
    (10, "below_floor", F_FLOOR, HIGH, True, "Tip colder than the profile floor. Closing both valves."),
    (11, "software_exception", F_EXCEPTION, HIGH, True, "Internal error. Closing both valves."),
    (12, "watchdog_reset", F_WATCHDOG, HIGH, True, "Restarted by the watchdog. Check the pen."),
    (13, "backstop_fired", F_BACKSTOP, HIGH, True, "Control loop stalled: the backstop closed the valves."),
    (14, "low_battery", F_LOW_BATTERY, LOW, False, "Battery low: finish and recharge."),
    (15, "sensor_disagree", F_DISAGREE, HIGH, True,
     "Tip sensors disagree. Closing both valves."),
    (16, "second_valve_leak", F_MASTER_LEAK, HIGH, True,
     "Second valve failed its leak test. Closing both valves; service the pen."),
    (17, "firmware_integrity", F_INTEGRITY, HIGH, True,
     "Firmware check failed at start-up. Valves closed; service the pen."),
    (18, "record_unavailable", F_NO_RECORD, LOW, False,
     "Treatment record unavailable. Press reset to treat without a record."),
    (19, "low_gas", F_LOW_GAS, LOW, False,
     "Cartridge may run out in the next application. New cartridge: hold mode, press reset."),
    (20, "config_invalid", F_CONFIG, MEDIUM, False,
     "Stored clinic settings damaged: not treating. Factory settings: hold mode 5 s, press reset 3 times."),
    (21, "calibration_invalid", F_CALIBRATION, MEDIUM, False,
     "Stored sensor calibration damaged: not treating. Board curve: hold mode 5 s, press reset 3 times."),
    (22, "no_contact", F_NO_CONTACT, LOW, False,
     "Tip off the skin: hold time paused. Put the tip back on the lesion or release."),
)


def _latching_bits():
    bits = 0
    for row in TABLE:
        if row[4]:
            bits |= row[2]
    return bits


LATCHING_BITS = _latching_bits()


def worst(bits):
    """Code of the worst alarm among the condition bits, 0 if none. Allocates nothing."""
    code = 0
    prio = NONE
    for row in TABLE:
        if bits & row[2] and row[3] > prio:
            code = row[0]
            prio = row[3]
    return code


def priority(code):
    for row in TABLE:
        if row[0] == code:
            return row[3]
    return NONE


def name_of(code):
    for row in TABLE:
        if row[0] == code:
            return row[1]
    return ""


def names(bits):
    """Names of the set bits, for traces and logs (allocates: not for the tick)."""
    return [row[1] for row in TABLE if bits & row[2]]
