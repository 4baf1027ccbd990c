"""Raspberry Pi Pico (RP2040) reference pen.

Electrical reasoning:
- Valve: logic-level N-MOSFET low-side switch with a 10 kOhm gate pull-down and a
  flyback diode across the coil. RP2040 pads come out of reset as inputs with
  their pull-down on, so the valve stays closed from power-on until the HAL
  drives the pin low.
- Hit and hold: full drive for VALVE_HIT_MS pulls the plunger in; the held
  plunger needs far less current, so 40 % PWM at 20 kHz (above hearing) holds it
  while the coil and the cell run cooler. Register writes only: safe in the IRQ.
- Tip thermistor: 24.9 kOhm from ADC_VREF (the filtered 3V3 that is also the ADC
  reference) to GP26/ADC0, thermistor from there to AGND. The reading is a ratio
  of the reference, so the rail's tolerance cancels (ADC_READS_UV False).
- Battery: one Li-ion cell into VSYS through an ideal-diode MOSFET; the Pico's own
  VSYS/3 divider on GP29/ADC3 reads it.
- Trigger and reset: switches to ground, internal pull-ups.
- Buzzer: passive piezo through a transistor on GP16 (PWM slice 0, not the
  valve's slice 7, so a tone never changes the valve's PWM frequency).
"""
from boards.reference_pen import *  # noqa: F401,F403
from firmware.compat import const

NAME = "rp2040_pico"
PORT = "rp2"  # the MicroPython port; `cryopen check` types the code against its stubs

# Tip sensor: the reference pen's (boards/reference_pen.py), read through this port's ADC.
ADC_SAMPLES = const(16)  # 16 x 2 us conversions per tick: averages the RP2040 ADC noise
ADC_REF_MV = const(3300)
ADC_READS_UV = False

VALVE_HIT_MS = const(20)  # at least the valve's pull-in time
VALVE_HOLD_DUTY = const(26214)  # 40 % of 65535
VALVE_PWM_HZ = const(20000)
BATTERY_DIVIDER = const(3)  # VSYS/3

BACKSTOP_TIMER_ID = const(-1)  # rp2 has virtual timers only; hard=True runs the handler in the IRQ

# Pins (GPIO numbers).
VALVE_PIN = const(15)
MASTER_VALVE_PIN = None
THERMISTOR_PIN = const(26)
BATTERY_PIN = const(29)
TRIGGER_PIN = const(14)
RESET_PIN = const(13)
BUZZER_PIN = const(16)
LED_PIN = const(25)  # the on-board LED (Pico, not Pico W)

HAS_MASTER_VALVE = MASTER_VALVE_PIN is not None
