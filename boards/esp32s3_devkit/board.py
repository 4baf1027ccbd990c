"""ESP32-S3-DevKitC-1 reference pen.

Electrical reasoning:
- Valves: two normally-closed valves in series, each on its own logic-level
  N-MOSFET with a 10 kOhm gate pull-down and a flyback diode, so one shorted
  MOSFET or one stuck valve cannot spray on its own. GPIO12 and GPIO13 are not
  strapping pins and float at reset; the pull-downs hold the valves closed until
  the HAL drives them. Plain on/off drive (no hit and hold): these valves are
  rated for continuous duty.
- Second valve (GPIO13): its gate is MASTER AND Q (74LVC1G08), Q from the
  retriggerable monostable (74LVC1G123, ENABLE_HOLD_MS in boards/reference_pen.py)
  that the keepalive (GPIO18) re-triggers every tick; Q is read back on GPIO21.
  This port has no hard timer interrupt, so this part is the backstop that a hang
  inside a C call or with interrupts masked cannot defeat (docs/SAFETY.md).
- Tip thermistors: the ESP32-S3 ADC is not ratiometric to any pin we can feed a
  divider from, so both dividers run from a 2.5 V shunt reference (LM4040-2.5):
  24.9 kOhm to GPIO1/ADC1_CH0 (sensor 1) and 20 kOhm to GPIO4/ADC1_CH3 (sensor 2),
  each thermistor to ground. GPIO5/ADC1_CH4 reads the reference itself, and each
  tip reading is the ratio of the two calibrated voltages (read_uv, 11 dB,
  usable to about 2.9 V), so the reference's tolerance and the calibration's gain
  error cancel. ADC1 only (ADC2 is shared with the radio), and no strapping pin
  (GPIO0, GPIO3, GPIO45, GPIO46).
- Battery: one Li-ion cell through a 100k/100k divider (ratio 2) on GPIO2/ADC1_CH1,
  read as calibrated microvolts (an absolute voltage, not a ratio).
- Trigger and reset: switches to ground, internal pull-ups.
- Buzzer: passive piezo through a transistor on GPIO16 (its own LEDC timer).
- LED: external LED with a series resistor on GPIO17 (the on-board LED is an
  addressable RGB part, not a plain GPIO).
"""
from boards.reference_pen import *  # noqa: F401,F403
from firmware.compat import const

NAME = "esp32s3_devkit"
PORT = "esp32"  # the MicroPython port; `cryopen check` types the code against its stubs
MICROPYTHON_MIN = (1, 29, 0)  # the port behaviour docs/PORTS.md records

# Tip sensors: the reference pen's (boards/reference_pen.py), read through this port's ADC.
ADC_SAMPLES = const(8)  # a calibrated read costs tens of microseconds
ADC_REF_MV = const(2500)  # the LM4040-2.5's nominal voltage
ADC_READS_UV = True
ADC_REF_PIN = const(5)  # reads the 2.5 V reference directly

VALVE_HIT_MS = None  # plain on/off drive
VALVE_HOLD_DUTY = None
VALVE_PWM_HZ = None
BATTERY_DIVIDER = const(2)

BACKSTOP_TIMER_ID = const(0)  # hardware timer 0 (GPTimer); its callback is scheduled, soft
BACKSTOP_TIMER_HARD = False  # hard=True raises ValueError (ports/esp32/machine_timer.c)

# Reset cause: reset_cause() already tells a watchdog timeout (WDT_RESET) from a
# deliberate reset (HARD_RESET) on this port (ports/esp32/modmachine.c).
WDT_REASON_ADDR = None
WDT_REASON_TIMER = None
WDT_SCRATCH4_ADDR = None
WDT_ENABLE_MAGIC = None

# Pins (GPIO numbers).
VALVE_PIN = const(12)
MASTER_VALVE_PIN = const(13)
KEEPALIVE_PIN = const(18)
ENABLE_SENSE_PIN = const(21)
THERMISTOR_PIN = const(1)
THERMISTOR2_PIN = const(4)
BATTERY_PIN = const(2)
TRIGGER_PIN = const(14)
RESET_PIN = const(15)
MODE_PIN = const(11)  # the mode button: profile (short press), new session (2 s hold)
BUZZER_PIN = const(16)
LED_PIN = const(17)
# The optional OLED (hal/display.py): an SSD1306 128x64 module at 0x3C (SA0 low) on I2C0,
# GPIO8 SDA / GPIO9 SCL (ESP32_GENERIC_S3's default pair; no strapping pin), at 400 kHz,
# the controller's fastest: a page of the frame takes 2.9 ms of bus time. None on a pen
# built without one.
DISPLAY = {"i2c": 0, "sda": 8, "scl": 9, "freq": 400000, "addr": 0x3C}

HAS_MASTER_VALVE = True
