"""The pen's own hardware, the same whichever microcontroller drives it: the tip
sensor, the valve, the battery and the regulator tuned for them. Each board
module imports these and adds its pin map and port details."""
from firmware.compat import const

# Tip sensor: 1 kOhm (25 C) NTC with a low beta on a 24.9 kOhm divider, so the
# cryogenic end resolves; see docs/DESIGN.md, "Thermistor".
ADC_BITS = const(12)
DIVIDER_OHM = 24900
THERMISTOR_POINTS = ((-90.0, 485000.0), (-30.0, 9740.0), (25.0, 1000.0))  # C, ohm

VALVE_MIN_ON_MS = const(20)
VALVE_MIN_OFF_MS = const(20)
WDT_MS = const(1000)
BATTERY_LOW_MV = const(3400)
DEFAULT_PROFILE = "moderate"

# Regulator gains for this valve and tip (per mille of duty; see regulator.py).
REG_KP = const(300)
REG_KI = const(40)
REG_FF = const(4)
