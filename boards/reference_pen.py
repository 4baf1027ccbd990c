"""The pen's own hardware, the same whichever microcontroller drives it: the tip
sensor, the valve, the battery and the regulator tuned for them. Each board
module imports these and adds its pin map and port details."""
from firmware.compat import const

# Tip sensor: 1 kOhm (25 C) NTC with a low beta on a 24.9 kOhm divider, so the
# cryogenic end resolves; see docs/DESIGN.md, "Thermistor".
ADC_BITS = const(12)
DIVIDER_OHM = 24900
# The second tip thermistor, on its own ADC channel, sits on another divider so that
# the two sensors' converter codes differ at every temperature (RP2040-E11: docs/PORTS.md).
DIVIDER2_OHM = 20000
THERMISTOR_POINTS = ((-90.0, 485000.0), (-30.0, 9740.0), (25.0, 1000.0))  # C, ohm

# Liquid N2O through the 22 um nozzle from a cartridge at 20 C, 20.1 mg/s (docs/PLANT.md):
# the gas estimate in the treatment record is valve-open time times this.
NOMINAL_FLOW_MG_PER_S = const(20)
# The flow rises with the cartridge's temperature to 21.1 mg/s at 31 C (docs/PLANT.md);
# the low-gas warning counts at this flow so that it is never late (firmware/gauge.py).
FLOW_MAX_MG_PER_S = const(22)
# The handpiece's chamber takes 8 g cartridges, and only those: the gauge starts from
# this at each new cartridge (firmware/gauge.py SIZES_MG lists what a board may declare).
CARTRIDGE_MG = const(8000)

VALVE_MIN_ON_MS = const(20)
VALVE_MIN_OFF_MS = const(20)
WDT_MS = const(1000)
# The second valve's gate is Q AND MASTER (74LVC1G08), Q from a retriggerable
# monostable (74LVC1G123, B input, nA tied low) that each rising keepalive edge
# re-triggers. The firmware toggles the keepalive every tick, so a rising edge
# comes every 20 ms; when the loop stops, whatever stops it, the second valve
# closes within ENABLE_HOLD_MS of the last edge (docs/SAFETY.md, "Independent
# backstop, per port"). Rext and Cext are chosen for about 35 ms; the boot
# self-test measures the hold and refuses one outside these bounds.
ENABLE_HOLD_MS = const(40)
ENABLE_HOLD_MIN_MS = const(30)  # two ticks plus 10 ms of jitter: a healthy loop never trips it
BATTERY_LOW_MV = const(3400)
DEFAULT_PROFILE = "moderate"

# The tip's cooling rate at full flow in free air (no load) at -50 C, and how much
# faster it cools per C warmer (per mille of a cc/s per cc): the contact estimate's
# spray (firmware/contact.py). The model's figures for a 20 C cartridge (docs/PLANT.md):
# 23.7 C/s and 0.105 C/s per C; a few per cent faster at 10 C, about 13 % slower at
# 30 C, and about 10 % either way with the nozzle and discharge. The estimate measures
# each application's own error against this in its first 0.4 s.
SPRAY_CC_PER_S = const(2370)
SPRAY_SLOPE_PM = const(105)

# Regulator gains for this valve and tip (per mille of duty; see regulator.py).
REG_KP = const(300)
REG_KI = const(40)
REG_FF = const(4)
