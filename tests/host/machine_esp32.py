"""The `machine` stand-in for the esp32 port (ESP32-S3) at MicroPython 1.29.

Each name has the constructor, keywords and limits the port has (the source
file in micropython/micropython is named at each); what it shares with the
rp2 fake is in tests/host/machine_fake.py; docs/PORTS.md is the table, and
tests/host/test_ports_table.py holds this module to it.

    dev = machine_esp32.power_on(board)
    hal = MachineHal(board, machine_esp32, dev.clock)
"""
import sys

from tests.host import machine_fake as base
from tests.host.machine_fake import (DeviceReset, NotModelled, WouldHang,  # noqa: F401
                                     disable_irq, enable_irq, soft_reset, time_pulse_us)

NAME = "esp32"

# ports/esp32/modmachine.c, reset_reason_t and mp_machine_reset_cause().
PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5
RESET_CAUSES = {  # esp_reset_reason() -> reset_cause(); anything else reads 0
    "ESP_RST_POWERON": PWRON_RESET, "ESP_RST_BROWNOUT": PWRON_RESET,
    "ESP_RST_INT_WDT": WDT_RESET, "ESP_RST_TASK_WDT": WDT_RESET, "ESP_RST_WDT": WDT_RESET,
    "ESP_RST_DEEPSLEEP": DEEPSLEEP_RESET,
    "ESP_RST_SW": HARD_RESET, "ESP_RST_PANIC": HARD_RESET, "ESP_RST_EXT": HARD_RESET,
    "ESP_RST_SDIO": 0, "ESP_RST_UNKNOWN": 0,
}

IRQ_STATE_RESTORES = False  # portENTER_CRITICAL: disable_irq() returns 0; sections nest
# ports/esp32/mphalport.c, mp_hal_delay_us: after 5 us of overhead it runs
# mp_handle_pending while more than 150 us remain; a busy loop, no interrupt needed.
SLEEP_US_POLLS_ABOVE = 155
SLEEP_US_POLLING_WAITS_FOR_IRQ = False

# The USB serial (tests/host/machine_fake.py, UsbSerial).
STDIN_RING = 260  # ports/esp32/mphalport.c: stdin_ringbuf_array
# mp_hal_stdio_poll reports POLLOUT whatever the USB-CDC TX FIFO holds: with the UART
# REPL (MICROPY_HW_ENABLE_UART_REPL, ESP32_GENERIC_S3) stdout is always writable.
POLLOUT_ALWAYS = True

HARDWARE_TIMERS = 4  # SOC_TIMER_GROUP_TOTAL_TIMERS on the ESP32-S3
_GPIOS = tuple(range(0, 22)) + tuple(range(26, 49))  # the S3 has no GPIO 22..25
_ADC_GPIOS = tuple(range(1, 21))  # ADC1: GPIO1..10, ADC2: GPIO11..20 (ports/esp32/machine_adc.c)


def _this():
    return sys.modules[__name__]


def power_on(board=None, start_ms=0, reason="ESP_RST_POWERON", soft=False):
    """A chip after a reset that esp_reset_reason() reports as reason (or after a
    soft reset of the interpreter). board wires its parts."""
    if reason not in RESET_CAUSES:
        raise ValueError("unknown esp_reset_reason: %s" % reason)
    return base.start(_this(), board, start_ms, {"reason": reason, "soft": soft})


def reboot(dev, board=None, how=None):
    """The next boot after dev ended: how is "wdt" (the task watchdog panics:
    ESP_RST_TASK_WDT), "reset" (machine.reset(): esp_restart, ESP_RST_SW), "soft"
    (the chip, its pins and its watchdog carry on) or "power"; by default, how dev ended."""
    how = how or dev.ended or "power"
    if how == "power":
        return power_on(board)
    if how == "wdt":
        return power_on(board, reason="ESP_RST_TASK_WDT")
    if how == "reset":
        return power_on(board, reason="ESP_RST_SW")
    if how != "soft":
        raise ValueError("how: wdt, reset, soft or power")
    new = power_on(board, reason=dev.regs["reason"], soft=True)
    new.t_us = dev.t_us
    new.pins = dev.pins
    new.wdt = dev.wdt  # the task watchdog's user stays subscribed: it keeps counting
    if new.wdt is not None:
        new.wdt._dev = new
    return new


def check_pin(pin_id):
    base.check_int("pin", pin_id, 0, 48)
    if pin_id not in _GPIOS:
        raise ValueError("invalid pin")


def check_readings(values):
    for v in values:
        if not isinstance(v, OSError):  # check_esp_err raises OSError
            base.check_int("read_uv", v, 0, 3300000)


def reset_cause():
    dev = base._dev()
    dev.record(("reset_cause",))
    if dev.regs["soft"]:
        return SOFT_RESET
    return RESET_CAUSES[dev.regs["reason"]]


def reset():
    """machine.reset(): esp_restart()."""
    base._dev().ended = "reset"
    raise DeviceReset


class Pin(base.Pin):
    """ports/esp32/machine_pin.c: Pin(id, mode, pull, *, value, drive, hold)."""

    IN = 1  # GPIO_MODE_INPUT
    OUT = 3  # GPIO_MODE_INPUT_OUTPUT: an output reads back its level
    OPEN_DRAIN = 7  # GPIO_MODE_INPUT_OUTPUT_OD
    PULL_DOWN = 1
    PULL_UP = 2
    MODES = (IN, OUT, OPEN_DRAIN)

    def __init__(self, id, mode=base._UNSET, pull=base._UNSET, *, value=base._UNSET,
                 drive=base._UNSET, hold=base._UNSET):
        self._attach(id)
        if drive is not base._UNSET or hold is not base._UNSET:
            raise NotModelled("drive=, hold=")
        if mode is not base._UNSET or pull is not base._UNSET or value is not base._UNSET:
            self._configure(mode, pull, value)  # pull not given: left as it was


class ADC(base.ADC):
    """ports/esp32/machine_adc.c: ADC(pin, *, atten). read_uv() is calibrated
    against the chip's own reference (ports/esp32/adc.c: millivolts x 1000) and
    raises OSError through check_esp_err."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_12BIT = 12
    PINS = _ADC_GPIOS
    NOT_ADC = "invalid pin"

    def __init__(self, pin, *, atten=-1):
        self._attach(pin)
        if atten == -1:
            atten = ADC.ATTN_11DB  # ADC_ATTEN_MAX
        if isinstance(atten, bool) or not isinstance(atten, int) or not 0 <= atten <= 3:
            raise ValueError("invalid attenuation")
        self.attenuation = atten

    def read_uv(self):
        return self._next() // 1000 * 1000

    def read_u16(self):
        raise NotModelled("read_u16 on esp32")


class PWM(base.PWM):
    """ports/esp32/machine_pwm.c: PWM(dest, freq, *, duty, duty_u16, duty_ns, invert,
    lightsleep); each frequency gets its own LEDC timer."""

    FREQ_RANGE = (1, 40000000)  # "frequency must be from 1Hz to 40MHz"

    def __init__(self, dest, freq=None, *, duty=None, duty_u16=None, duty_ns=None, invert=None,
                 lightsleep=None):
        if duty is not None or duty_ns is not None or invert is not None or lightsleep is not None:
            raise NotModelled("duty=, duty_ns=, invert=, lightsleep=")
        self._attach(dest, freq, duty_u16)

    def _freq_error(self, value):
        return "frequency must be from 1Hz to 40MHz"


class Timer(base.Timer):
    """ports/esp32/machine_timer.c: Timer(id): 0..3 a GPTimer, negative a virtual
    esp_timer. Either way the interrupt only schedules the callback
    (mp_sched_schedule): soft. init(..., hard=True) raises ValueError."""

    def __init__(self, *args, **kwargs):
        if len(args) > 1:
            raise TypeError("Timer takes the id and keywords only")
        id = args[0] if args else -1
        if isinstance(id, bool) or not isinstance(id, int):
            raise TypeError("can't convert to int")
        if id >= HARDWARE_TIMERS:
            raise ValueError("Timer(%d) doesn't exist, there are only %d hardware timers"
                             % (id, HARDWARE_TIMERS))
        self._attach(id)
        if kwargs:
            self.init(**kwargs)

    def _check_hard(self, hard):
        if hard:
            raise ValueError("hard Timers are not implemented")

    def _check_period(self, delta):
        if delta == 0:
            raise ValueError("Timer period is too short for this timer")
        return delta

    def value(self):
        """Milliseconds since the timer was started."""
        return (self._dev.t_us - self.started) // 1000


class WDT(base.WDT):
    """ports/esp32/machine_wdt.c via extmod/machine_wdt.c: WDT(id=0, timeout=5000),
    the task watchdog with trigger_panic: a timeout reboots as ESP_RST_TASK_WDT."""

    def __init__(self, id=0, timeout=5000):
        base.check_int("id", id, -(1 << 29), 1 << 29)
        if id != 0:
            raise ValueError()
        base.check_int("timeout", timeout, -(1 << 29), 1 << 29)
        if timeout <= 0:
            raise ValueError("WDT timeout too short")
        self._attach(id, timeout)


class I2C(base.I2C):
    """ports/esp32/machine_i2c.c: I2C(id=0, *, scl, sda, freq, timeout): two static
    buses (I2C_NUM_MAX on the S3), any GPIO through the matrix; the first use takes
    GPIO9/GPIO8 for bus 0 (ESP32_GENERIC_S3), 400 kHz and 50 ms; later calls change
    what they give. With ESP-IDF 5.5.2 and later (MICROPY_HW_ESP_NEW_I2C_DRIVER) the
    timeout bounds each transfer in whole milliseconds (timeout_us / 1000). A NACK
    raises ENODEV, a timeout ETIMEDOUT: 116, the toolchain's errno.h
    (MICROPY_USE_INTERNAL_ERRNO is 0 on this port)."""

    NACK_ERRNO = 19
    TIMEOUT_ERRNO = 116

    def __init__(self, id=0, *, scl=None, sda=None, freq=-1, timeout=-1):
        base.check_int("id", id, -(1 << 29), 1 << 29)
        if id == -1:
            raise base.NotModelled("I2C(-1): the deprecated SoftI2C construction")
        if id not in (0, 1):
            raise ValueError("I2C(%d) doesn't exist" % id)
        dev = base._dev()
        settings = dict(dev.i2c.get(id) or {})
        if not settings:
            if id != 0:
                raise base.NotModelled("bus 1's default pins")
            settings = {"scl": 9, "sda": 8, "freq": 400000, "timeout": 50000}
        for key, pin in (("scl", scl), ("sda", sda)):
            if pin is not None:
                settings[key] = base._pin_id(pin)
                check_pin(settings[key])
        if freq != -1:
            base.check_int("freq", freq, 1, 1000000)
            settings["freq"] = freq
        if timeout != -1:
            base.check_int("timeout", timeout, 0, 1 << 29)
            settings["timeout"] = timeout
        self._attach(id, settings)

    def _timeout_us(self, timeout):
        return timeout // 1000 * 1000
