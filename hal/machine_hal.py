"""The device HAL on MicroPython's `machine`: the interface of hal.fake.FakeHal.

Pins and port details come from the board module. Tests hand in stand-ins for
the `machine` and `time` modules (tests/host/machine_rp2.py, machine_esp32.py);
on the device they are imported, so this module also imports under CPython.
What each port call does, and the port source that says so: docs/PORTS.md.

Fail closed: the constructor drives the valve pins low before it sets up
anything else. Two backstops close the valves when the main loop stops:
- the one-shot timer, re-armed every tick while the main valve is open, closes
  both valves from its callback (a hard interrupt on rp2, a scheduled callback
  on esp32). Its handler allocates nothing: a bound method built once, writing
  pins through bound methods built once and setting an int flag;
- the board's monostable: the second valve's gate is MASTER AND Q, and Q stays
  high only while master(True) keeps toggling the keepalive pin. It needs no
  code at all to close the valve, so it also acts when the CPU is stuck in a C
  call or has its interrupts masked.
"""
from firmware import alarms, limits
from firmware.compat import const

_FULL = const(65535)  # 16-bit readings and PWM duty
_TONE_DUTY = const(32768)  # square wave for the piezo
_DEBOUNCE_TICKS = const(3)  # a switch must read the same for 3 ticks (30 ms) to change
_BATTERY_HYST_MV = const(100)  # low battery clears only 100 mV above the threshold
_UV_STEP = const(10)  # absolute microvolt readings are scaled in 10 uV steps ...
_UV_SHIFT = const(13)  # ... by a fixed-point factor that keeps every product a small int
_RATIO_STEP = const(100)  # ratios: microvolts in 100 uV steps (the converter resolves 1 mV) ...
_RATIO_HALF = const(32767)  # ... times this stays under 2**30 below 3.27 V; doubled to 16 bits
_REF_TOLERANCE = const(10)  # a reference more than 1/10 off its nominal is a converter fault
SELFTEST_MS = const(20)  # the self-test arms the backstop timer for this long
SELFTEST_WAIT_MS = const(100)  # and gives up waiting for its callback after this
_HOLD_WAIT_MARGIN_MS = const(10)  # the monostable must fall within its hold plus this


def drive_valves_low(board, machine_=None):
    """Drives both valve pins low, the main valve's first; returns (valve pin,
    master pin). The board's boot.py calls it before main.py loads anything, and
    MachineHal again."""
    if machine_ is None:
        import machine
    else:
        machine = machine_
    pin = machine.Pin
    valve = pin(board.VALVE_PIN, pin.OUT, value=0)
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
    """One analogue input, oversampled: read() gives 0..65535, or -1 when the
    reference it is measured against is implausible; the converter's OSError goes
    through. Three kinds:
    - scale 0, no read_ref: the port's reading is already a 16-bit ratio (rp2);
    - scale > 0: calibrated microvolts scaled to 16 bits of the nominal
      reference by a fixed-point factor (an absolute voltage: the battery);
    - read_ref: calibrated microvolts divided by the reference's own reading,
      sampled in turn, so the reference's error cancels (esp32 tips)."""

    def __init__(self, read, samples, scale=0, read_ref=None, ref_uv=0):
        self._read = read
        self._samples = samples
        self._scale = scale
        self._read_ref = read_ref
        self._ref_lo = ref_uv - ref_uv // _REF_TOLERANCE
        self._ref_hi = ref_uv + ref_uv // _REF_TOLERANCE

    def read(self):
        read = self._read
        n = self._samples
        total = 0
        if self._read_ref is None:
            while n:
                total += read()
                n -= 1
            mean = total // self._samples
            if self._scale:
                mean = ((mean // _UV_STEP) * self._scale) >> _UV_SHIFT
                if mean > _FULL:
                    mean = _FULL
            return mean
        read_ref = self._read_ref
        ref = 0
        while n:
            total += read()
            ref += read_ref()
            n -= 1
        ref = ref // self._samples
        if ref < self._ref_lo or ref > self._ref_hi:
            return -1
        node = total // self._samples // _RATIO_STEP
        ref = ref // _RATIO_STEP
        if node >= ref:
            return _FULL
        return node * _RATIO_HALF // ref * 2


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
        # Fail closed before anything else: both valve pins driven low.
        self._valve_pin, self._master_pin = drive_valves_low(board, machine)
        self._clock = time
        self.backstop_fired = 0  # set by either backstop; an int, so setting it allocates nothing
        self.enable_expired = 0  # the monostable fell while the second valve was commanded open
        self.enable_hold_us = 0  # the monostable's hold as the self-test measured it
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
        # The second valve and the monostable that enables it.
        self._master_write = self._master_pin.value
        self._master_on = False
        self._keepalive_pin = pin(board.KEEPALIVE_PIN, pin.OUT, value=0)  # idles low
        self._keepalive_write = self._keepalive_pin.value
        self._keepalive = 0
        # Pulled down: a missing or unpowered monostable reads as "no enable".
        self._sense_pin = pin(board.ENABLE_SENSE_PIN, pin.IN, pin.PULL_DOWN)
        self._sense = self._sense_pin.value
        self._hold_min_us = board.ENABLE_HOLD_MIN_MS * 1000
        self._hold_max_us = board.ENABLE_HOLD_MS * 1000
        self._disable_irq = machine.disable_irq
        self._enable_irq = machine.enable_irq
        self._pulse_us = machine.time_pulse_us
        # The main valve's timer backstop.
        self._timer = machine.Timer(board.BACKSTOP_TIMER_ID)
        self._timer_hard = board.BACKSTOP_TIMER_HARD
        self._one_shot = machine.Timer.ONE_SHOT
        self._backstop_cb = self._on_backstop  # the bound method, built once
        self._armed = False
        # Analogue inputs.
        samples = board.ADC_SAMPLES
        if board.ADC_READS_UV:  # calibrated microvolts (esp32)
            atten = machine.ADC.ATTN_11DB
            read_ref = machine.ADC(pin(board.ADC_REF_PIN), atten=atten).read_uv
            ref_uv = board.ADC_REF_MV * 1000
            self._tip = _Analog(machine.ADC(pin(board.THERMISTOR_PIN), atten=atten).read_uv,
                                samples, 0, read_ref, ref_uv)
            self._tip2 = _Analog(machine.ADC(pin(board.THERMISTOR2_PIN), atten=atten).read_uv,
                                 samples, 0, read_ref, ref_uv)
            scale = (_FULL << _UV_SHIFT) // (board.ADC_REF_MV * (1000 // _UV_STEP))
            self._battery = _Analog(machine.ADC(pin(board.BATTERY_PIN), atten=atten).read_uv,
                                    samples, scale)
        else:  # already ratios of the reference that feeds the dividers (rp2)
            self._tip = _Analog(machine.ADC(pin(board.THERMISTOR_PIN)).read_u16, samples)
            self._tip2 = _Analog(machine.ADC(pin(board.THERMISTOR2_PIN)).read_u16, samples)
            self._battery = _Analog(machine.ADC(pin(board.BATTERY_PIN)).read_u16, samples)
        self._battery_fs_mv = board.ADC_REF_MV * board.BATTERY_DIVIDER
        self._low_mv = board.BATTERY_LOW_MV
        self._battery_low = False
        self._tip_failed = False
        self._tip2_failed = False
        self._battery_failed = False
        self._trigger = _Button(pin(board.TRIGGER_PIN, pin.IN, pin.PULL_UP))
        self._reset = _Button(pin(board.RESET_PIN, pin.IN, pin.PULL_UP))
        self._mode = _Button(pin(board.MODE_PIN, pin.IN, pin.PULL_UP))
        self._buzzer = machine.PWM(pin(board.BUZZER_PIN, pin.OUT, value=0), freq=1000, duty_u16=0)
        self._tone_hz = 0
        self._led = pin(board.LED_PIN, pin.OUT, value=0)
        self._led_on = False
        self._wdt = None
        self._new_wdt = machine.WDT  # bound here, where the type check sees the port's stubs
        self._machine_reset = machine.reset
        self._reset_cause = machine.reset_cause
        self._wdt_reset = machine.WDT_RESET
        self._pwron_reset = machine.PWRON_RESET
        self._wdt_reason_addr = board.WDT_REASON_ADDR
        self._wdt_reason_timer = board.WDT_REASON_TIMER
        self._wdt_scratch4_addr = board.WDT_SCRATCH4_ADDR
        self._wdt_magic = board.WDT_ENABLE_MAGIC
        self._mem32 = None
        if board.WDT_REASON_ADDR is not None:
            self._mem32 = machine.mem32

    # --- time --------------------------------------------------------------------
    def now_ms(self):
        return self._clock.ticks_ms()

    def sleep_ms(self, ms):
        self._clock.sleep_ms(ms)

    # --- inputs ------------------------------------------------------------------
    def read_tip(self):
        """Sensor 1: 0..65535 of the divider's reference, or -1 on a converter error."""
        try:
            raw = self._tip.read()
        except OSError:
            raw = -1
        self._tip_failed = raw < 0
        return raw

    def read_tip2(self):
        """Sensor 2, on its own channel and divider: as read_tip."""
        try:
            raw = self._tip2.read()
        except OSError:
            raw = -1
        self._tip2_failed = raw < 0
        return raw

    def mode(self):
        """The mode button, debounced; firmware/buttons.py tells its gestures apart."""
        return self._mode.sample()

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
        if self._tip_failed or self._tip2_failed or self._battery_failed:
            bits |= alarms.F_ADC
        if self.backstop_fired:  # the timer fired, or the monostable fell
            bits |= alarms.F_BACKSTOP
        if self._battery_low:
            bits |= alarms.F_LOW_BATTERY
        return bits

    def _check_battery(self):
        try:
            raw = self._battery.read()
        except OSError:  # the same converter as the tips: report it the same way
            self._battery_failed = True
            return
        self._battery_failed = False
        mv = raw * self._battery_fs_mv // _FULL
        limit = self._low_mv + _BATTERY_HYST_MV if self._battery_low else self._low_mv
        self._battery_low = mv < limit

    # --- valves and the backstops --------------------------------------------------
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
        # The callback may have run between the check above and a write: it sets
        # the flag only after closing, so a set flag now means close again.
        if self.backstop_fired:
            self._close_main()

    def master(self, on):
        """The second valve. Each call while on toggles the keepalive, so the
        monostable sees a rising edge every second tick and holds Q (the valve's
        enable) for ENABLE_HOLD_MS after each. Q read low while commanded open
        means the loop stalled past the hold, or the part failed: both valves
        close and stay closed, and F_BACKSTOP is reported."""
        if not on or self.backstop_fired:
            if self._master_on:
                self._master_off()
            return
        sense = self._sense
        if self._master_on:
            if not sense():  # Q fell since the last call: the gas has already stopped
                self._enable_lost()
                return
            self._keepalive ^= 1
        else:
            self._keepalive = 1  # from idle low: a rising edge triggers the monostable
        self._keepalive_write(self._keepalive)
        if not sense():  # no enable right after an edge: the part or its supply failed
            self._enable_lost()
            return
        if not self._master_on:
            self._master_write(1)
            self._master_on = True

    def close_valves(self):
        self._close_main()
        self._master_off()

    def _master_off(self):
        self._master_write(0)
        self._keepalive = 0
        self._keepalive_write(0)  # idle low, ready for the next rising edge
        self._master_on = False

    def _enable_lost(self):
        self.enable_expired = 1
        self.backstop_fired = 1
        self.close_valves()

    def _close_main(self):
        self._valve_write(0)
        self._valve_open = False
        if self._armed:
            self._timer.deinit()
            self._armed = False

    def _arm(self, period_ms):
        # hard= only where the port has hard timer callbacks: the esp32 port raises
        # ValueError for hard=True (docs/PORTS.md).
        if self._timer_hard:
            self._timer.init(mode=self._one_shot, period=period_ms, callback=self._backstop_cb,
                             hard=True)
        else:
            self._timer.init(mode=self._one_shot, period=period_ms, callback=self._backstop_cb)
        self._armed = True

    def _on_backstop(self, _timer):
        """The timer's callback (a hard interrupt on rp2): close both valves and
        raise the flag. Allocates nothing."""
        self._valve_write(0)
        self._master_write(0)
        self.backstop_fired = 1

    def backstop_selftest(self):
        """Proves both backstops with both valves closed (no gas at any point):
        (a) the timer's callback runs; (b) the monostable holds after a keepalive
        edge and then falls by itself while the CPU sits in a C-level wait with
        its interrupts masked: nothing in the firmware can hold the enable then.
        True if both pass. A failure keeps both valves locked closed (and
        F_BACKSTOP reported) until the next power-up."""
        self.close_valves()
        self.backstop_fired = 0
        self.enable_expired = 0
        ok = self._timer_selftest() and self._enable_selftest()
        self.close_valves()
        self.backstop_fired = 0 if ok else 1
        return ok

    def _timer_selftest(self):
        self._arm(SELFTEST_MS)
        clock = self._clock
        start = clock.ticks_ms()
        while not self.backstop_fired and clock.ticks_diff(clock.ticks_ms(), start) < SELFTEST_WAIT_MS:
            clock.sleep_ms(1)  # a soft callback runs here, when the VM checks for pending work
        fired = self.backstop_fired == 1
        self._timer.deinit()
        self._armed = False
        self.backstop_fired = 0
        return fired

    def _enable_selftest(self):
        # The master pin stays low throughout: Q alone cannot open the valve.
        write = self._keepalive_write
        write(0)
        write(1)  # the rising edge
        write(0)  # idle again: a falling edge does not trigger
        if not self._sense():
            return False  # no enable after an edge: the part or its supply failed
        # time.sleep_us() runs pending callbacks on both ports (docs/PORTS.md);
        # machine.time_pulse_us() is a plain C loop on both. It times Q's high
        # pulse: the hold, or -1 if Q is still high after the timeout.
        state = self._disable_irq()
        held = self._pulse_us(self._sense_pin, 1, self._hold_max_us + _HOLD_WAIT_MARGIN_MS * 1000)
        self._enable_irq(state)
        self.enable_hold_us = held
        return self._hold_min_us <= held <= self._hold_max_us and not self._sense()

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

    def reboot(self):
        """Restarts the chip (a deliberate reset: docs/PORTS.md, "Reset causes") with
        both valves closed first; does not return."""
        self.close_valves()
        self._machine_reset()

    def reset_cause_deliberate(self):
        """A reset someone asked for (machine.reset(), mpremote reset, the reset pin),
        not a power-up and not a watchdog timeout (docs/PORTS.md, "Reset causes")."""
        return not self.reset_cause_watchdog() and self._reset_cause() != self._pwron_reset

    def reset_cause_watchdog(self):
        """True only after a timeout of the watchdog this firmware starts. Call it
        before start_watchdog(): on rp2 that writes the marker read here."""
        if self._reset_cause() != self._wdt_reset:
            return False
        mem = self._mem32
        if mem is None:  # esp32: WDT_RESET is a watchdog timeout, never a deliberate reset
            return True
        # rp2: WDT_RESET follows any watchdog reboot, machine.reset() too.
        return ((mem[self._wdt_reason_addr] & self._wdt_reason_timer) != 0
                and mem[self._wdt_scratch4_addr] == self._wdt_magic)
