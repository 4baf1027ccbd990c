"""The device HAL on MicroPython's `machine`: the interface of hal.fake.FakeHal.

Pins and port details come from the board module. Tests hand in stand-ins for
the `machine` and `time` modules; on the device they are imported, so this
module also imports under CPython.

Fail closed: the constructor drives the valve pins low before it sets up
anything else, and the one-shot backstop timer closes them from its interrupt
whatever the main loop is doing. The interrupt handler allocates nothing: it is
a bound method built once, it writes pins through bound methods built once and
sets an int flag.
"""
from firmware import alarms, limits
from firmware.compat import const

_FULL = const(65535)  # 16-bit readings and PWM duty
_TONE_DUTY = const(32768)  # square wave for the piezo
_DEBOUNCE_TICKS = const(3)  # a switch must read the same for 3 ticks (30 ms) to change
_BATTERY_HYST_MV = const(100)  # low battery clears only 100 mV above the threshold
_UV_STEP = const(10)  # microvolt readings are scaled in 10 uV steps ...
_UV_SHIFT = const(13)  # ... by a fixed-point factor that keeps every product a small int
SELFTEST_MS = const(20)  # the self-test arms the backstop for this long
SELFTEST_WAIT_MS = const(100)  # and gives up waiting for its interrupt after this


def drive_valves_low(board, machine_=None):
    """Drives every valve pin low; returns (valve pin, master pin or None). The
    board's boot.py calls it before main.py loads anything, and MachineHal again."""
    if machine_ is None:
        import machine
    else:
        machine = machine_
    pin = machine.Pin
    valve = pin(board.VALVE_PIN, pin.OUT, value=0)
    master = None
    if board.MASTER_VALVE_PIN is not None:
        master = pin(board.MASTER_VALVE_PIN, pin.OUT, value=0)
    return valve, master


class _Button:
    """A switch to ground, debounced by integrating one sample per tick."""

    def __init__(self, pin):
        self._pin = pin
        self._count = 0
        self.pressed = False

    def down(self):
        """The switch as it reads now, not debounced."""
        return self._pin.value() == 0

    def sample(self):
        if self.down():
            if self._count < _DEBOUNCE_TICKS:
                self._count += 1
            if self._count == _DEBOUNCE_TICKS:
                self.pressed = True
        else:
            if self._count > 0:
                self._count -= 1
            if self._count == 0:
                self.pressed = False
        return self.pressed


class _Analog:
    """One analogue input, oversampled: read() gives 0..65535 of the board's ADC
    reference and lets the converter's OSError through. scale is 0 for readings
    that are already 16-bit ratios, else the fixed-point factor for microvolts."""

    def __init__(self, read, samples, scale):
        self._read = read
        self._samples = samples
        self._scale = scale

    def read(self):
        read = self._read
        n = self._samples
        total = 0
        while n:
            total += read()
            n -= 1
        mean = total // self._samples
        if self._scale:
            mean = ((mean // _UV_STEP) * self._scale) >> _UV_SHIFT
            if mean > _FULL:
                mean = _FULL
        return mean


class MachineHal:
    """The pen's hardware: board is a module from boards/; machine_ and time_
    stand in for the `machine` and `time` modules in tests."""

    def __init__(self, board, machine_=None, time_=None):
        # The real modules unless stand-ins are handed in; imported this way the
        # type check sees the port's `machine` stubs.
        if machine_ is None:
            import machine
        else:
            machine = machine_
        if time_ is None:
            import time
        else:
            time = time_
        pin = machine.Pin
        # Fail closed before anything else: every valve pin driven low.
        self._valve_pin, self._master_pin = drive_valves_low(board, machine)
        self._clock = time
        self.backstop_fired = 0  # set by the interrupt; an int, so setting it allocates nothing
        # Valve drive: a plain pin, or PWM for hit and hold. Either way one bound
        # method writes it (0 closes), so the interrupt handler needs no branch.
        self._valve_write = self._valve_pin.value
        self._valve_full = 1
        self._hold_duty = 0
        self._hit_ms = 0
        if board.VALVE_HIT_MS is not None:
            pwm = machine.PWM(self._valve_pin, freq=board.VALVE_PWM_HZ, duty_u16=0)
            self._valve_write = pwm.duty_u16
            self._valve_full = _FULL
            self._hold_duty = board.VALVE_HOLD_DUTY
            self._hit_ms = board.VALVE_HIT_MS
        self._valve_open = False
        self._holding = False
        self._opened_ms = 0
        self._timer = machine.Timer(board.BACKSTOP_TIMER_ID)
        self._one_shot = machine.Timer.ONE_SHOT
        self._backstop_cb = self._on_backstop  # the bound method, built once
        self._armed = False
        analog_pins = (board.THERMISTOR_PIN, board.BATTERY_PIN)
        scale = 0
        if board.ADC_READS_UV:  # calibrated microvolts, scaled to 16 bits of ADC_REF_MV
            reads = [machine.ADC(pin(p), atten=machine.ADC.ATTN_11DB).read_uv for p in analog_pins]
            scale = (_FULL << _UV_SHIFT) // (board.ADC_REF_MV * (1000 // _UV_STEP))
        else:  # already a ratio of the reference
            reads = [machine.ADC(pin(p)).read_u16 for p in analog_pins]
        self._tip = _Analog(reads[0], board.ADC_SAMPLES, scale)
        self._battery = _Analog(reads[1], board.ADC_SAMPLES, scale)
        self._battery_fs_mv = board.ADC_REF_MV * board.BATTERY_DIVIDER
        self._low_mv = board.BATTERY_LOW_MV
        self._battery_low = False
        self._adc_failed = False
        self._trigger = _Button(pin(board.TRIGGER_PIN, pin.IN, pin.PULL_UP))
        self._reset = _Button(pin(board.RESET_PIN, pin.IN, pin.PULL_UP))
        self._buzzer = machine.PWM(pin(board.BUZZER_PIN, pin.OUT, value=0), freq=1000, duty_u16=0)
        self._tone_hz = 0
        self._led = pin(board.LED_PIN, pin.OUT, value=0)
        self._led_on = False
        self._wdt = None
        self._new_wdt = machine.WDT  # bound here, where the type check sees the port's stubs
        self._reset_cause = machine.reset_cause
        self._wdt_reset = machine.WDT_RESET

    # --- time --------------------------------------------------------------------
    def now_ms(self):
        return self._clock.ticks_ms()

    def sleep_ms(self, ms):
        self._clock.sleep_ms(ms)

    # --- inputs ------------------------------------------------------------------
    def read_tip(self):
        self._adc_failed = False
        try:
            return self._tip.read()
        except OSError:
            self._adc_failed = True
            return -1

    def trigger(self):
        return self._trigger.sample()

    def service_requested(self):
        """The reset button held at power-up, over three samples 10 ms apart."""
        for _ in range(3):
            if not self._reset.down():
                return False
            self._clock.sleep_ms(10)
        return True

    def reset_pressed(self):
        was = self._reset.pressed
        return self._reset.sample() and not was

    def conditions(self):
        self._check_battery()
        bits = 0
        if self._adc_failed:
            bits |= alarms.F_ADC
        if self.backstop_fired:
            bits |= alarms.F_BACKSTOP
        if self._battery_low:
            bits |= alarms.F_LOW_BATTERY
        return bits

    def _check_battery(self):
        try:
            mv = self._battery.read() * self._battery_fs_mv // _FULL
        except OSError:  # the same converter as the tip: report it the same way
            self._adc_failed = True
            return
        limit = self._low_mv + _BATTERY_HYST_MV if self._battery_low else self._low_mv
        self._battery_low = mv < limit

    # --- valves and the backstop ---------------------------------------------------
    def valve(self, on, backstop_ms):
        if not on or self.backstop_fired:  # a fired or failed backstop keeps it closed
            self._close_main()
            return
        # Re-armed on every call while open, so it fires only if the loop stops; the
        # period shrinks as the tip nears its floor. It runs before the valve opens.
        self._arm(backstop_ms)
        if not self._valve_open:
            self._valve_write(self._valve_full)
            self._valve_open = True
            self._holding = False
            self._opened_ms = self._clock.ticks_ms()
        elif self._hold_duty and not self._holding:
            if self._clock.ticks_diff(self._clock.ticks_ms(), self._opened_ms) >= self._hit_ms:
                self._valve_write(self._hold_duty)
                self._holding = True
        # The interrupt may have fired between the check above and a write: it sets
        # the flag only after closing, so a set flag now means close again.
        if self.backstop_fired:
            self._close_main()

    def master(self, on):
        if self._master_pin is not None:
            self._master_pin.value(1 if on and not self.backstop_fired else 0)

    def close_valves(self):
        self._close_main()
        if self._master_pin is not None:
            self._master_pin.value(0)

    def _close_main(self):
        self._valve_write(0)
        self._valve_open = False
        if self._armed:
            self._timer.deinit()
            self._armed = False

    def _arm(self, period_ms):
        self._timer.init(mode=self._one_shot, period=period_ms, callback=self._backstop_cb,
                         hard=True)
        self._armed = True

    def _on_backstop(self, _timer):
        """Hard interrupt: close both valves and raise the flag. Allocates nothing."""
        self._valve_write(0)
        if self._master_pin is not None:
            self._master_pin.value(0)
        self.backstop_fired = 1

    def backstop_selftest(self):
        """Arms the backstop with the valve closed and waits for its interrupt.
        True if it fired. A backstop that failed keeps the valves locked closed
        (and F_BACKSTOP reported) until the next power-up."""
        self.close_valves()
        self.backstop_fired = 0
        self._arm(SELFTEST_MS)
        clock = self._clock
        start = clock.ticks_ms()
        while not self.backstop_fired and clock.ticks_diff(clock.ticks_ms(), start) < SELFTEST_WAIT_MS:
            clock.sleep_ms(1)
        fired = self.backstop_fired == 1
        self._timer.deinit()
        self._armed = False
        self.backstop_fired = 0 if fired else 1
        return fired

    # --- annunciation --------------------------------------------------------------
    def tone(self, hz):
        if hz == self._tone_hz:
            return
        self._tone_hz = hz
        if hz:
            self._buzzer.freq(hz)
            self._buzzer.duty_u16(_TONE_DUTY)
        else:
            self._buzzer.duty_u16(0)

    def led(self, on):
        if on != self._led_on:
            self._led_on = on
            self._led.value(1 if on else 0)

    # --- watchdog -----------------------------------------------------------------
    def start_watchdog(self, ms):
        if not limits.WDT_MIN_MS <= ms <= limits.WDT_MAX_MS:
            raise ValueError("watchdog timeout %d ms outside %d..%d"
                             % (ms, limits.WDT_MIN_MS, limits.WDT_MAX_MS))
        self._wdt = self._new_wdt(timeout=ms)

    def feed_watchdog(self):
        if self._wdt is not None:
            self._wdt.feed()

    def reset_cause_watchdog(self):
        return self._reset_cause() == self._wdt_reset
