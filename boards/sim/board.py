"""The simulated pen: the host default board. Electrical values match the
reference boards so that the simulator exercises the same conversion and timing."""
from firmware.compat import const

NAME = "sim"

# Tip sensor: 1 kOhm (25 C) NTC with a low beta, so the divider resolves the
# cryogenic end; see docs/DESIGN.md, "Thermistor".
ADC_BITS = const(12)
DIVIDER_OHM = 24900
THERMISTOR_POINTS = ((-90.0, 485000.0), (-30.0, 9740.0), (25.0, 1000.0))  # C, ohm

VALVE_MIN_ON_MS = const(20)
VALVE_MIN_OFF_MS = const(20)
HAS_MASTER_VALVE = False  # the common single-valve pen; see docs/DESIGN.md
WDT_MS = const(1000)
BATTERY_LOW_MV = const(3400)

# Regulator gains for this valve and tip (per mille of duty; see regulator.py).
REG_KP = const(300)
REG_KI = const(40)
REG_FF = const(4)
