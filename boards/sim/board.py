"""The simulated pen: the host default board. It has the reference pen's tips,
valves and regulator, so the simulator exercises the same conversion and timing.

Where the two reference boards differ, it takes the weaker: its backstop timer's
callback is soft (as on the ESP32-S3), so a hang inside a C call or with
interrupts masked is stopped only by the board's monostable and the watchdog."""
from boards.reference_pen import *  # noqa: F401,F403

NAME = "sim"
HAS_MASTER_VALVE = True  # two valves in series, as on both reference boards
BACKSTOP_TIMER_HARD = False
# The OLED, as on the Pico; the simulator puts it on a fake bus for --screens.
DISPLAY = {"i2c": 0, "sda": 4, "scl": 5, "freq": 400000, "addr": 0x3C}
