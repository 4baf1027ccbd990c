"""Raspberry Pi Pico (RP2040) reference pen.

Electrical reasoning:
- Valves: two normally-closed valves in series, each on its own logic-level
  N-MOSFET low-side switch with a 10 kOhm gate pull-down and a flyback diode, so
  one shorted MOSFET or one stuck valve cannot spray on its own. RP2040 pads come
  out of reset as inputs with their pull-down on, so both stay closed from
  power-on until the HAL drives the pins low.
- Main valve (GP15), modulated by the regulator, hit and hold: full drive for
  VALVE_HIT_MS pulls the plunger in; the held plunger needs far less current, so
  40 % PWM at 20 kHz (above hearing) holds it while the coil and the cell run
  cooler. Register writes only: safe in the IRQ.
- Second valve (GP18), open for the whole application. Its gate is MASTER AND Q
  (74LVC1G08), Q from the retriggerable monostable (74LVC1G123, ENABLE_HOLD_MS in
  boards/reference_pen.py) that the keepalive (GP19) re-triggers every tick. Q is
  read back on GP20. A part on the board, independent of the whole MCU: see
  docs/SAFETY.md, "Independent backstop, per port".
- Tip thermistors: 24.9 kOhm (sensor 1) and 20 kOhm (sensor 2) from ADC_VREF
  (the filtered 3V3 that is also the ADC reference) to GP26/ADC0 and GP27/ADC1,
  each thermistor from there to AGND. The readings are ratios of the reference,
  so the rail's tolerance cancels (ADC_READS_UV False). The two dividers differ so
  that the RP2040-E11 spikes fall at other temperatures for each (docs/PORTS.md).
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
MICROPYTHON_MIN = (1, 29, 0)  # the port behaviour docs/PORTS.md records

# Tip sensors: the reference pen's (boards/reference_pen.py), read through this port's ADC.
ADC_SAMPLES = const(16)  # 16 x 2 us conversions per tick: averages the RP2040 ADC noise
ADC_REF_MV = const(3300)
ADC_READS_UV = False
ADC_REF_PIN = None  # read_u16 is already a ratio of ADC_VREF, which feeds both dividers

VALVE_HIT_MS = const(20)  # at least the valve's pull-in time
VALVE_HOLD_DUTY = const(26214)  # 40 % of 65535
VALVE_PWM_HZ = const(20000)
BATTERY_DIVIDER = const(3)  # VSYS/3

BACKSTOP_TIMER_ID = const(-1)  # rp2 has the one virtual timer id (ports/rp2/machine_timer.c)
BACKSTOP_TIMER_HARD = True  # hard=True: the handler runs in the alarm interrupt

# Reset cause (docs/PORTS.md): reset_cause() is WDT_RESET after any watchdog_reboot,
# machine.reset() and mpremote's reset included. A timeout of our machine.WDT alone
# sets REASON.TIMER with SCRATCH4 still holding watchdog_enable's magic (pico-sdk
# hardware_watchdog). Read before the watchdog starts, which writes the magic.
WDT_REASON_ADDR = 0x40058008  # WATCHDOG_BASE + REASON
WDT_REASON_TIMER = const(1)  # REASON.TIMER; REASON.FORCE (bit 1) is CTRL.TRIGGER
WDT_SCRATCH4_ADDR = 0x4005801C  # WATCHDOG_BASE + SCRATCH0 + 4 * 4
WDT_ENABLE_MAGIC = 0x6AB73121  # WATCHDOG_NON_REBOOT_MAGIC

# Pins (GPIO numbers).
VALVE_PIN = const(15)
MASTER_VALVE_PIN = const(18)
KEEPALIVE_PIN = const(19)
ENABLE_SENSE_PIN = const(20)
THERMISTOR_PIN = const(26)
THERMISTOR2_PIN = const(27)
BATTERY_PIN = const(29)
TRIGGER_PIN = const(14)
RESET_PIN = const(13)
MODE_PIN = const(12)  # the mode button: profile (short press), new session (2 s hold)
BUZZER_PIN = const(16)
LED_PIN = const(25)  # the on-board LED (Pico, not Pico W)
# The optional OLED (hal/display.py): an SSD1306 128x64 module at 0x3C (SA0 low) on I2C0,
# GP4 SDA / GP5 SCL (the Pico's default pair), at 400 kHz, the controller's fastest: a
# page of the frame takes 2.9 ms of bus time. None on a pen built without one.
DISPLAY = {"i2c": 0, "sda": 4, "scl": 5, "freq": 400000, "addr": 0x3C}

HAS_MASTER_VALVE = True
