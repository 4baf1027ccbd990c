"""Absolute limits of the pen. Nothing overrides them: a profile or board value
outside them is refused at load (see profiles.py), never clamped.

Units are in the name: _MS milliseconds, _CC centi-degrees Celsius.
Sources are in docs/SAFETY.md, section "Limits".
"""
from firmware.compat import const

TICK_MS = const(10)  # 100 Hz control tick

# Application timing.
MAX_CONTACT_MS = const(45000)  # longest clinical freeze: full-thickness plantar wart, 45 s
MIN_REST_MS = const(5000)  # shortest rest or thaw between two applications
MAX_SESSION_MS = const(300000)  # total valve-open time in one session
MAX_CYCLES = const(20)  # applications in one session

# Temperatures.
FLOOR_CC = const(-9200)  # no profile floor below -92 C (N2O melts at -90.8 C)
TARGET_MAX_CC = const(1500)  # a target warmer than +15 C does not cool skin
READ_MIN_CC = const(-10000)  # a reading outside -100..+60 C is a sensor fault
READ_MAX_CC = const(6000)
PIGMENT_FLOOR_CC = const(-500)  # melanocytes are damaged at about -5 C
# A profile's lethal_c (the dosimetry's lethal isotherm) lies between these: malignant
# lesions need -40 to -50 C, and nothing warmer than the melanocytes' -5 C is lethal.
LETHAL_MIN_CC = const(-6000)

# Sensor supervision.
STALE_MS = const(50)  # no fresh reading for this long is a fault
STUCK_MS = const(2000)  # no change at all over this long with the valve open is a fault
MAX_RATE_CC_PER_S = const(20000)  # 200 C/s: faster than the tip mass can physically move
# Two tip sensors cross-checked: each is good to 2 C after calibration, and the two beads
# sit within 1 C of each other in the copper cap even at full cooling rate.
DISAGREE_CC = const(500)  # 2 x 2 C + 1 C
DISAGREE_MS = const(200)  # disagreement this long is a fault: spans ADC noise, not a drift

# Cooling plausibility (both directions, see docs/SAFETY.md).
NO_COOLING_MIN_MS = const(1000)  # shortest window a profile may give for the first cooling
STILL_COOLING_MS = const(3000)  # after close, the tip must stop falling within this window
STILL_COOLING_DROP_CC = const(300)  # falling by more than 3 C after that window is a leak

# Valve proving after each application (double block, as in gas-burner trains): once
# the still-cooling window has passed, each valve is opened alone while the other
# holds; the tip must not cool. Gas flows only through a valve that leaks.
PROVE_AFTER_MS = const(3000)  # from the end of the application: the tip is warming by then
PROVE_OPEN_MS = const(100)  # one valve open alone
PROVE_STEP_MS = const(300)  # watched this long from the opening (sensor lag)
PROVE_DROP_CC = const(100)  # cooling by more than 1 C in a step is a leaking valve

# Independent backstop, re-armed every tick while the valve is open.
BACKSTOP_MARGIN_MS = const(100)  # remaining contact time plus this
MAX_COOL_CC_PER_S = const(4000)  # fastest the tip can cool at full flow (model peak 35 C/s)
BACKSTOP_MIN_MS = const(20)  # two ticks: a healthy loop always re-arms before expiry
WDT_MIN_MS = const(100)
WDT_MAX_MS = const(8388)  # RP2040 hardware maximum

# Valve timing from the board, for valve life.
VALVE_MIN_PULSE_MS = const(10)
VALVE_MAX_PULSE_MS = const(200)

# A stray tap: released this soon, with the tip never this much below where it
# started, cooled no tissue; it owes no rest and is not an application.
STRAY_TAP_MS = const(500)
STRAY_DROP_CC = const(200)

# Tip counts as at target within this band; the hold time starts there.
AT_TARGET_CC = const(100)
