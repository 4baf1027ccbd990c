"""The `machine` stand-in for the rp2 port (RP2040) at MicroPython 1.29.

Each name has the constructor, keywords and limits the port has (the source
file in micropython/micropython is named at each); what it shares with the
esp32 fake is in tests/host/machine_fake.py; docs/PORTS.md is the table, and
tests/host/test_ports_table.py holds this module to it.

    dev = machine_rp2.power_on(board)
    hal = MachineHal(board, machine_rp2, dev.clock)
"""
import sys

from tests.host import machine_fake as base
from tests.host.machine_fake import (DeviceReset, NotModelled, WouldHang,  # noqa: F401
                                     disable_irq, enable_irq, soft_reset, time_pulse_us)

NAME = "rp2"

# ports/rp2/modmachine.c: reset_cause() is WDT_RESET whenever watchdog_caused_reboot().
PWRON_RESET = 1
WDT_RESET = 3

IRQ_STATE_RESTORES = True  # save_and_disable_interrupts() returns the old PRIMASK
# ports/rp2/mphalport.c, mp_hal_delay_us: a wait above 1 ms goes through
# mp_hal_delay_ms -> mp_event_wait_ms (pending callbacks, then WFE for an alarm interrupt).
SLEEP_US_POLLS_ABOVE = 1000
SLEEP_US_POLLING_WAITS_FOR_IRQ = True

# The USB serial (tests/host/machine_fake.py, UsbSerial).
STDIN_RING = 512  # ports/rp2/mphalport.c: MICROPY_HW_STDIN_BUFFER_LEN
# mp_usbd_cdc_poll_interfaces: POLLOUT only while the TX FIFO has room (or no host).
POLLOUT_ALWAYS = False

WDT_MAX_MS = 8388  # ports/rp2/machine_wdt.c, WDT_TIMEOUT_MAX on RP2040

# The watchdog block (RP2040 datasheet; pico-sdk hardware_watchdog).
WATCHDOG_BASE = 0x40058000
REASON_ADDR = WATCHDOG_BASE + 0x08
SCRATCH0_ADDR = WATCHDOG_BASE + 0x0C
REASON_TIMER = 1  # the counter ran out
REASON_FORCE = 2  # CTRL.TRIGGER: watchdog_reboot(..., 0), as machine.reset() does
NON_REBOOT_MAGIC = 0x6AB73121  # watchdog_enable() writes it to scratch[4]

_NUM_GPIOS = 30  # NUM_BANK0_GPIOS on RP2040
_ADC_GPIOS = (26, 27, 28, 29)  # ADC_BASE_PIN .. + NUM_ADC_CHANNELS - 1 (channel 4: temperature)


def _this():
    return sys.modules[__name__]


def power_on(board=None, start_ms=0, reason=0, scratch=None):
    """A chip after a reset, with the watchdog's REASON and SCRATCH0..7 registers as
    given (all zero after a power-on or a RUN-pin reset). board wires its parts."""
    regs = {"reason": reason, "scratch": list(scratch) if scratch else [0] * 8}
    return base.start(_this(), board, start_ms, regs)


def reboot(dev, board=None, how=None):
    """The next boot after dev ended: how is "wdt" (the counter ran out), "reset"
    (machine.reset(), mpremote reset), "soft" (a soft reset: the chip, its pins and
    its watchdog carry on) or "power"; by default, how dev ended."""
    how = how or dev.ended or "power"
    regs = dev.regs
    if how == "power":
        return power_on(board, 0)
    if how == "wdt":
        regs["reason"] = REASON_TIMER  # the scratch registers survive
    elif how == "reset":
        regs["reason"] = REASON_FORCE
    elif how != "soft":  # a soft reset leaves every register as it was
        raise ValueError("how: wdt, reset, soft or power")
    new = base.start(_this(), board, 0, regs)
    if how == "soft":
        new.t_us = dev.t_us
        new.pins = dev.pins  # pin levels survive a soft reset
        new.wdt = dev.wdt  # and the watchdog keeps counting
        if new.wdt is not None:
            new.wdt._dev = new
    return new


def check_pin(pin_id):
    base.check_int("pin", pin_id, 0, _NUM_GPIOS - 1)


def check_readings(values):
    for v in values:
        if isinstance(v, OSError):
            raise ValueError("rp2's ADC.read_u16 never raises (ports/rp2/machine_adc.c)")
        base.check_int("read_u16", v, 0, 65535)


def reset_cause():
    """ports/rp2/modmachine.c: any REASON bit reads as a watchdog reset."""
    dev = base._dev()
    dev.record(("reset_cause",))
    return WDT_RESET if dev.regs["reason"] else PWRON_RESET


def reset():
    """machine.reset(): watchdog_reboot(0, SRAM_END, 0) clears scratch[4] and triggers."""
    dev = base._dev()
    dev.regs["scratch"][4] = 0
    dev.ended = "reset"
    raise DeviceReset


class _Mem32:
    """machine.mem32 (extmod/machine_mem.c): 32-bit reads and writes at aligned
    addresses. The fake has the watchdog's REASON and scratch registers only."""

    def _register(self, addr):
        base.check_int("address", addr, 0, 0xFFFFFFFF)
        if addr & 3:
            raise ValueError("address %08x is not aligned to 4 bytes" % addr)
        if addr == REASON_ADDR:
            return "reason", 0
        if SCRATCH0_ADDR <= addr < SCRATCH0_ADDR + 32:
            return "scratch", (addr - SCRATCH0_ADDR) // 4
        raise NotModelled("no register at %08x in the fake" % addr)

    def __getitem__(self, addr):
        regs = base._dev().regs
        name, i = self._register(addr)
        return regs[name] if name == "reason" else regs[name][i]

    def __setitem__(self, addr, value):
        name, i = self._register(addr)
        if name == "reason":
            raise NotModelled("REASON is read-only")
        base._dev().regs["scratch"][i] = value & 0xFFFFFFFF


mem32 = _Mem32()


class Pin(base.Pin):
    """ports/rp2/machine_pin.c: Pin(id, mode, pull, *, value, alt)."""

    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    ALT = 3
    PULL_UP = 1
    PULL_DOWN = 2
    MODES = (IN, OUT, OPEN_DRAIN, ALT)

    def __init__(self, id, mode=base._UNSET, pull=base._UNSET, *, value=base._UNSET,
                 alt=base._UNSET):
        self._attach(id)
        if alt is not base._UNSET:
            raise NotModelled("alt=")
        if mode is not base._UNSET or pull is not base._UNSET or value is not base._UNSET:
            # Any argument configures the pin, and the pulls unconditionally: None is none.
            self._configure(mode, None if pull is base._UNSET else pull, value)


class ADC(base.ADC):
    """ports/rp2/machine_adc.c: ADC(id), one argument and no keywords (an ADC GPIO,
    or a channel number); read_u16() only, a ratio of ADC_VREF that never raises."""

    CORE_TEMP = 4
    PINS = _ADC_GPIOS
    NOT_ADC = "Pin doesn't have ADC capabilities"

    def __init__(self, id):
        if isinstance(id, int) and 0 <= id < 4:
            id = _ADC_GPIOS[id]  # channel 0..3 is GPIO 26..29
        elif id == ADC.CORE_TEMP:
            raise NotModelled("the temperature sensor")
        self._attach(id)

    def read_u16(self):
        return self._next()


class PWM(base.PWM):
    """ports/rp2/machine_pwm.c: PWM(dest, freq, *, duty_u16, duty_ns, invert). The two
    channels of a slice share its frequency."""

    FREQ_RANGE = (8, 62500000)  # "freq too small" / "freq too large" at 125 MHz

    def __init__(self, dest, freq=None, *, duty_u16=None, duty_ns=None, invert=None):
        if duty_ns is not None or invert is not None:
            raise NotModelled("duty_ns=, invert=")
        self._attach(dest, freq, duty_u16)

    def _freq_error(self, value):
        return "freq too small" if value < PWM.FREQ_RANGE[0] else "freq too large"

    def _set_freq(self, value):
        slice_ = (self.pin >> 1) & 7
        for pwm in self._dev.pwms:  # a list: iterating it allocates nothing
            if (pwm.pin >> 1) & 7 == slice_ and self._dev.pins[pwm.pin].pwm is pwm:
                pwm.hz = value
        self.hz = value


class Timer(base.Timer):
    """ports/rp2/machine_timer.c: Timer(-1) only (an alarm-pool alarm); init(*, mode,
    callback, period, tick_hz, freq, hard). hard=True runs the callback in the
    alarm interrupt; hard=False schedules it. No value()."""

    def __init__(self, *args, **kwargs):
        if len(args) > 1:
            raise TypeError("Timer takes the id and keywords only")
        id = args[0] if args else -1
        if isinstance(id, bool) or not isinstance(id, int):
            raise TypeError("can't convert to int")
        if id != -1:
            raise ValueError("Timer doesn't exist")
        self._attach(id)
        if kwargs:
            self.init(**kwargs)

    def _check_hard(self, hard):
        pass

    def _check_period(self, delta):
        return delta if delta >= 1 else 1  # delta_us < 1 becomes 1


class WDT(base.WDT):
    """ports/rp2/machine_wdt.c via extmod/machine_wdt.c: WDT(id=0, timeout=5000).
    watchdog_enable() writes NON_REBOOT_MAGIC to scratch[4]."""

    def __init__(self, id=0, timeout=5000):
        base.check_int("id", id, -(1 << 29), 1 << 29)
        if id != 0:
            raise ValueError("WDT(%d) doesn't exist" % id)
        base.check_int("timeout", timeout, -(1 << 29), 1 << 29)
        if timeout < 0 or timeout > WDT_MAX_MS:  # the port takes it as unsigned
            raise ValueError("timeout exceeds %d" % WDT_MAX_MS)
        if timeout == 0:
            raise NotModelled("timeout=0 resets at once (CTRL.TRIGGER)")
        self._attach(id, timeout)
        base._dev().regs["scratch"][4] = NON_REBOOT_MAGIC


class I2C(base.I2C):
    """ports/rp2/machine_i2c.c: I2C(id, freq=400000, *, scl, sda, timeout=50000): two
    static buses; SCL on odd and SDA on even GPIOs, bit 1 of the pin naming the bus
    (machine_i2c.h, IS_VALID_SCL / IS_VALID_SDA); the Pico's defaults are GP5/GP4 for
    bus 0 (PICO_DEFAULT_I2C) and GP7/GP6 for bus 1. Any argument re-initialises the
    bus. A NACK is PICO_ERROR_GENERIC, raised as EIO; a timeout as ETIMEDOUT (this
    port's internal errno numbers)."""

    NACK_ERRNO = 5
    TIMEOUT_ERRNO = 110
    _DEFAULT_PINS = {0: (5, 4), 1: (7, 6)}  # (SCL, SDA)

    def __init__(self, id=0, freq=400000, *, scl=None, sda=None, timeout=50000):
        base.check_int("id", id, -(1 << 29), 1 << 29)
        if id not in (0, 1):
            raise ValueError("I2C(%d) doesn't exist" % id)
        dev = base._dev()
        was = dev.i2c.get(id)
        default_scl, default_sda = (was["scl"], was["sda"]) if was else self._DEFAULT_PINS[id]
        if scl is not None:
            default_scl = base._pin_id(scl)
            base.check_int("pin", default_scl, 0, _NUM_GPIOS - 1)
            if default_scl & 1 != 1 or (default_scl & 2) >> 1 != id:
                raise ValueError("bad SCL pin")
        if sda is not None:
            default_sda = base._pin_id(sda)
            base.check_int("pin", default_sda, 0, _NUM_GPIOS - 1)
            if default_sda & 1 != 0 or (default_sda & 2) >> 1 != id:
                raise ValueError("bad SDA pin")
        base.check_int("freq", freq, 1, 1000000)
        base.check_int("timeout", timeout, 0, 1 << 29)
        self._attach(id, {"scl": default_scl, "sda": default_sda, "freq": freq,
                          "timeout": timeout})

    def _timeout_us(self, timeout):
        return timeout  # i2c_write_timeout_us: microseconds, for the whole transfer
