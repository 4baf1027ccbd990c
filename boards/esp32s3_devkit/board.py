"""ESP32-S3-DevKitC-1 reference pen, with a master valve in series.

Electrical reasoning:
- Valves: two normally-closed valves in series, each on its own logic-level
  N-MOSFET with a 10 kOhm gate pull-down and a flyback diode, so one shorted
  MOSFET cannot spray on its own. GPIO12 and GPIO13 are not strapping pins and
  float at reset; the pull-downs hold the valves closed until the HAL drives them.
  Plain on/off drive (no hit and hold): these valves are rated for continuous duty.
- Tip thermistor: the ESP32-S3 ADC is not ratiometric to any pin we can feed the
  divider from, so the divider runs from a 2.5 V shunt reference (LM4040-2.5):
  24.9 kOhm from the reference to GPIO1/ADC1_CH0, thermistor to ground. The HAL
  reads calibrated microvolts at 11 dB attenuation (usable to about 2.9 V) and
  scales them by ADC_REF_MV. ADC1 only: ADC2 is shared with the radio.
- Battery: one Li-ion cell through a 100k/100k divider (ratio 2) on GPIO2/ADC1_CH1.
- Trigger and reset: switches to ground, internal pull-ups.
- Buzzer: passive piezo through a transistor on GPIO16 (its own LEDC timer).
- LED: external LED with a series resistor on GPIO17 (the on-board LED is an
  addressable RGB part, not a plain GPIO).
"""
from boards.reference_pen import *  # noqa: F401,F403
from firmware.compat import const

NAME = "esp32s3_devkit"
PORT = "esp32"  # the MicroPython port; `cryopen check` types the code against its stubs

# Tip sensor: the reference pen's (boards/reference_pen.py), read through this port's ADC.
ADC_SAMPLES = const(8)  # a calibrated read costs tens of microseconds
ADC_REF_MV = const(2500)
ADC_READS_UV = True

VALVE_HIT_MS = None  # plain on/off drive
VALVE_HOLD_DUTY = None
VALVE_PWM_HZ = None
BATTERY_DIVIDER = const(2)

BACKSTOP_TIMER_ID = const(0)  # hardware timer group 0; hard=True runs the handler in its ISR

# Pins (GPIO numbers).
VALVE_PIN = const(12)
MASTER_VALVE_PIN = const(13)
THERMISTOR_PIN = const(1)
BATTERY_PIN = const(2)
TRIGGER_PIN = const(14)
RESET_PIN = const(15)
BUZZER_PIN = const(16)
LED_PIN = const(17)

HAS_MASTER_VALVE = MASTER_VALVE_PIN is not None
