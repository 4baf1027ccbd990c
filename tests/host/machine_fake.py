"""The shared base of the hand-written `machine` fakes: a simulated chip and the
board parts around it. The stand-ins for `machine` itself are the per-port
modules, tests/host/machine_rp2.py and tests/host/machine_esp32.py: each accepts
exactly the constructors, keywords and methods its port has at MicroPython 1.29
for what the HAL uses, and refuses the rest as the port does (docs/PORTS.md lists
them with the port sources; tests/host/test_ports_table.py checks the two agree).
Written in the subset both CPython and MicroPython run: the heap-lock tests use
it under the WebAssembly MicroPython.

    dev = machine_rp2.power_on(board)      # a fresh chip, wired to the board's parts
    hal = MachineHal(board, machine_rp2, dev.clock)

What the model keeps apart, because the safety argument rests on it:
- time moves only in sleep_ms()/sleep_us(), a C-level wait (time_pulse_us), or a
  test's advance()/hang(); events happen at their exact microsecond;
- a timer's interrupt runs when it is due unless interrupts are masked (then
  when they are unmasked). A hard callback runs inside it; a soft one is queued
  (mp_sched_schedule, at most 8 deep, the rest are lost) and runs only when the
  VM checks for pending work: sleep_ms(), the ports' sleep_us() where it polls,
  and advance() (Python running). Never inside a C-level wait or a hang in C;
- the board's monostable (74LVC1G123): Q goes high on a rising edge of the
  keepalive pin and falls ENABLE_HOLD_MS later unless re-triggered; the second
  valve is open only while its pin is driven AND Q is high;
- the watchdog: its expiry resets the chip (every pin to its reset state) and
  the next boot (reboot()) reads the reset cause the port would report.

Calls are recorded in order in dev.log while dev.recording is true (the heap-lock
test turns it off: a recording append allocates).
"""

_TICKS_MASK = (1 << 30) - 1  # ticks wrap at 2**30; 2**30 itself is no small int on MicroPython
_TICKS_HALF = 1 << 29
SCHED_DEPTH = 8  # MICROPY_SCHEDULER_DEPTH, ports/rp2 and ports/esp32 mpconfigport.h

# Faults a test can inject into the chip or the board: dev.faults.add(name).
FAULTS = ("timer_dead",  # the timer's interrupt never comes
          "monostable_stuck_high",  # Q stays high: the second valve is never disabled
          "monostable_dead",  # Q stays low: no enable at all
          "i2c_stuck",  # a part holds SDA low: every transfer runs to its timeout
          "oled_dead")  # the display answers nothing: its address is not acknowledged

device = None  # the chip the port modules' functions act on: the last one powered on

_UNSET = object()  # "argument not given", where the port tells that apart from None


class DeviceReset(BaseException):
    """machine.reset() was called: the chip restarts (see reboot())."""


class NotModelled(RuntimeError):
    """The port accepts this, but the pen does not use it and the fake does not model it."""


class WouldHang(Exception):
    """The port would wait here for an interrupt that is masked, or block the
    scheduler inside a critical section: the fake refuses instead of hanging."""


def check_int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int" % name)
    if not lo <= value <= hi:
        raise ValueError("%s %d outside %d..%d" % (name, value, lo, hi))


def _dev():
    if device is None:
        raise RuntimeError("no device: call power_on() first")
    return device


def start(port, board, start_ms, regs):
    """A fresh chip of the port module given; used by the port modules' power_on()."""
    global device
    device = Device(port, board, start_ms, regs)
    return device


# --- the chip ---------------------------------------------------------------------
class _PinState:
    def __init__(self):
        self.output = False  # a GPIO output (push-pull): the latch drives the pad
        self.mode = None
        self.pull = None
        self.latch = 0
        self.input = 1  # what something outside drives onto the pad (switches idle high)
        self.pwm = None


class Monostable:
    """74LVC1G123 with nA tied low: each rising edge on B (the keepalive) sets Q
    high for hold_us; retriggerable."""

    def __init__(self, dev, trigger_pin, q_pin, hold_us):
        self.dev = dev
        self.trigger_pin = trigger_pin
        self.q_pin = q_pin
        self.hold_us = hold_us
        self.until = -1  # Q is high while dev.t_us < until
        self.edges = 0

    def trigger(self):
        self.until = self.dev.t_us + self.hold_us
        self.edges += 1

    def q(self):
        faults = self.dev.faults
        if "monostable_stuck_high" in faults:
            return 1
        if "monostable_dead" in faults:
            return 0
        return 1 if self.dev.t_us < self.until else 0


class Device:
    """One simulated chip, its clock, and the board parts wired to its pins."""

    def __init__(self, port, board=None, start_ms=0, regs=None):
        self.port = port  # the port module: machine_rp2 or machine_esp32
        self.t_us = start_ms * 1000
        self.log = []
        self.recording = True
        self.pins = {}
        self.readings = {}
        self.timers = []
        self.pwms = []
        self.irq_masked = False
        self.irq_depth = 0
        self.pending = []  # scheduled callbacks: (function, argument)
        self.lost = 0  # callbacks dropped on a full queue
        self.deferred = []  # timers whose interrupt came while interrupts were masked
        self.events = []  # (t_us, action)
        self.interrupt_at = None  # ms at which sleep_ms raises KeyboardInterrupt (Ctrl-C)
        self.wdt = None
        self.wdt_expired = False
        self.ended = None  # how this run of the chip ended: "wdt", "reset", "soft"
        self.faults = set()
        self.regs = regs if regs is not None else {}  # the port's registers that survive a reset
        self.clock = Clock(self)
        self.micropython = Micropython(self)
        self.usb = UsbSerial(self)  # the REPL's serial, and the host at its other end
        self.select = Select(self)
        self.sys = Sys(self)
        self.monostable = None
        self.valve_pin = None
        self.master_pin = None
        self.i2c = {}  # bus id -> its settings: the port keeps one object per bus
        self.i2c_parts = {}  # (SCL pin, SDA pin, address) -> the part there (hal/fake_oled)
        self.oled = None
        if board is not None:
            self.valve_pin = board.VALVE_PIN
            self.master_pin = board.MASTER_VALVE_PIN
            self.monostable = Monostable(self, board.KEEPALIVE_PIN, board.ENABLE_SENSE_PIN,
                                         board.ENABLE_HOLD_MS * 1000)
            display = getattr(board, "DISPLAY", None)
            if display is not None:  # the board's OLED, on its bus and pins
                from hal.fake_oled import Ssd1306

                self.oled = Ssd1306()
                self.i2c_parts[(display["scl"], display["sda"], display["addr"])] = self.oled

    # --- test controls and views ------------------------------------------------
    def calls(self, kind):
        """The recorded calls of one kind, e.g. dev.calls("wdt.feed")."""
        return [entry for entry in self.log if entry[0] == kind]

    def record(self, entry):
        if self.recording:
            self.log.append(entry)

    def set_input(self, pin_id, level):
        """What is driven onto an input pin from outside (a switch to ground reads 0 pressed)."""
        self.state(pin_id).input = level

    def set_adc(self, pin_id, *values):
        """Successive converter results for a pin, repeated (the port's units: read_u16
        counts on rp2, microvolts on esp32); an OSError instance is raised instead."""
        self.port.check_readings(values)
        self.readings[pin_id] = [list(values), 0]

    def driven(self, pin_id):
        """True while the pin drives its load: a GPIO output high, or PWM duty above 0."""
        state = self.pins.get(pin_id)
        if state is None:
            return False
        if state.pwm is not None:
            return state.pwm.duty > 0
        return state.output and state.latch == 1

    def master_open(self):
        """The second valve, physical: its pin driven AND the monostable's Q."""
        return self.driven(self.master_pin) and self.monostable.q() == 1

    def gas_flows(self):
        return self.driven(self.valve_pin) and self.master_open()

    def pwm_of(self, pin_id):
        return self.pins[pin_id].pwm

    def timer(self, timer_id):
        """The last Timer made with this id."""
        found = [t for t in self.timers if t.id == timer_id]
        return found[-1]

    def at(self, t_ms, action):
        """Calls action() once the clock reaches t_ms (a test's finger on a switch)."""
        self.events.append((t_ms * 1000, action))

    # --- pins ----------------------------------------------------------------------
    def state(self, pin_id):
        self.port.check_pin(pin_id)
        state = self.pins.get(pin_id)
        if state is None:
            state = _PinState()
            self.pins[pin_id] = state
        return state

    def level(self, pin_id):
        """What the pad reads: a board part's output, the outside, or its own latch."""
        mono = self.monostable
        if mono is not None and pin_id == mono.q_pin:
            return mono.q()
        state = self.pins[pin_id]
        if state.output:
            return state.latch
        return state.input

    def write(self, pin_id, level):
        """Writes the output latch; a rising edge on a driven keepalive pin triggers the monostable."""
        state = self.pins[pin_id]
        was = state.latch
        state.latch = level
        mono = self.monostable
        if mono is not None and pin_id == mono.trigger_pin and state.output and level and not was:
            mono.trigger()

    # --- interrupts and the scheduler -------------------------------------------------
    def schedule(self, function, arg):
        """mp_sched_schedule: queue a soft callback; False (and lost) when the queue is full."""
        if len(self.pending) >= SCHED_DEPTH:
            self.lost += 1
            return False
        self.pending.append((function, arg))
        return True

    def run_pending(self):
        """The VM checks for pending work: queued soft callbacks run, oldest first."""
        while self.pending:
            function, arg = self.pending.pop(0)
            function(arg)

    def mask(self):
        was = self.irq_masked
        self.irq_masked = True
        self.irq_depth += 1
        return was

    def unmask(self, restore_masked):
        self.irq_depth -= 1
        self.irq_masked = restore_masked
        if not self.irq_masked:
            deferred = self.deferred
            self.deferred = []
            for t in deferred:
                t.interrupt()

    # --- time ------------------------------------------------------------------------
    def run(self, dt_us, vm):
        """Moves time by dt_us, event by event. vm: the VM checks for pending work on
        the way (Python runs, or a sleep that polls); else the CPU is in a C call."""
        end = self.t_us + dt_us
        while True:
            self._act()
            if vm:
                self.run_pending()
            if self.t_us >= end:
                return
            self.t_us = self._next_event(end)

    def pulse(self, pin_id, level, timeout_us):
        """machine.time_pulse_us (extmod/machine_pulse.c): a C loop, nothing scheduled runs."""
        nchanges = 2
        start = self.t_us
        while True:
            self._act()
            if self.level(pin_id) == level:
                level = 1 - level
                nchanges -= 1
                if nchanges == 0:
                    return self.t_us - start
                start = self.t_us
            elif self.t_us - start >= timeout_us:
                return -nchanges
            self.t_us = self._next_event(start + timeout_us)

    def _next_event(self, end):
        now = self.t_us
        nxt = end
        for t in self.timers:
            if t.deadline is not None and now < t.deadline < nxt:
                nxt = t.deadline
        for when, _ in self.events:
            if now < when < nxt:
                nxt = when
        mono = self.monostable
        if mono is not None and now < mono.until < nxt:
            nxt = mono.until
        wdt = self.wdt
        if wdt is not None and not self.wdt_expired and now < wdt.expires_at() < nxt:
            nxt = wdt.expires_at()
        return nxt

    def _act(self):
        now = self.t_us
        if self.events:
            due = [e for e in self.events if e[0] <= now]
            if due:
                self.events = [e for e in self.events if e[0] > now]
                for _, action in due:
                    action()
        for t in self.timers:
            if t.deadline is not None and t.deadline <= now:
                t.due()
        wdt = self.wdt
        if wdt is not None and not self.wdt_expired and now >= wdt.expires_at():
            self._watchdog_reset()

    def _watchdog_reset(self):
        """The watchdog resets the chip: every pin back to its reset state (an input),
        the timers gone. The next boot is reboot(dev)."""
        self.wdt_expired = True
        self.ended = "wdt"
        self.record(("wdt.expired",))
        for state in self.pins.values():
            state.output = False
            state.pwm = None
            state.latch = 0
        for t in self.timers:
            t.deadline = None


# --- machine: the classes both ports share, subclassed per port ---------------------
class Pin:
    """What both ports' Pin does with a mode, a pull and value=; the port
    subclass declares the constructor's exact keywords and the constants."""

    def _attach(self, id):
        dev = _dev()
        dev.state(id)
        self.id = id
        self._dev = dev

    def _configure(self, mode, pull, value):
        """Both ports set the level before the mode, so an output starts at value=.
        Recorded as ("pin.init", id, mode, value), None for what was not given."""
        dev = self._dev
        state = dev.state(self.id)
        mode = None if mode is _UNSET else mode
        value = None if value is _UNSET else value
        if value is not None:
            dev.write(self.id, 1 if value else 0)
        if mode is not None:
            if mode not in self.MODES:
                raise ValueError("invalid pin mode")
            state.mode = mode
            state.output = mode == self.OUT
            state.pwm = None  # back to a plain GPIO
        if pull is not _UNSET:
            if pull is not None and pull not in (self.PULL_UP, self.PULL_DOWN):
                raise ValueError("invalid pull")
            state.pull = pull
        dev.record(("pin.init", self.id, mode, value))

    def value(self, x=None):
        """Reads the pad; with x, writes the output latch. The ports raise on
        neither: writing an input's latch drives nothing."""
        dev = self._dev
        if x is None:
            return dev.level(self.id)
        level = 1 if x else 0
        dev.write(self.id, level)
        if dev.recording:  # the tuple is built only when recording: ticks run with the heap locked
            dev.log.append(("pin", self.id, level))
        return None


class PWM:
    def _attach(self, dest, freq, duty_u16):
        if not isinstance(dest, Pin):
            raise TypeError("PWM needs a Pin")
        self._dev = dest._dev
        self.pin = dest.id
        self.hz = 0
        self.duty = 0
        self._dev.pins[dest.id].pwm = self
        self._dev.pwms.append(self)
        self._dev.record(("pwm.init", dest.id, freq, duty_u16))
        if freq is not None:
            self.freq(freq)
        if duty_u16 is not None:
            self.duty_u16(duty_u16)

    def freq(self, value=None):
        if value is None:
            return self.hz
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("freq must be an int")
        lo, hi = self.FREQ_RANGE
        if not lo <= value <= hi:
            raise ValueError(self._freq_error(value))
        self._set_freq(value)
        if self._dev.recording:  # the tuple is built only when recording (the heap may be locked)
            self._dev.log.append(("pwm.freq", self.pin, value))
        return None

    def _set_freq(self, value):
        self.hz = value

    def duty_u16(self, value=None):
        if value is None:
            return self.duty
        check_int("duty_u16", value, 0, 65535)
        self.duty = value
        if self._dev.recording:
            self._dev.log.append(("pwm.duty", self.pin, value))
        return None

    def deinit(self):
        self.duty = 0
        self._dev.pins[self.pin].pwm = None


class ADC:
    def _attach(self, id):
        self._dev = _dev()
        pin_id = id.id if isinstance(id, Pin) else id
        if pin_id not in self.PINS:
            raise ValueError(self.NOT_ADC)
        self.pin = pin_id

    def _next(self):
        dev = self._dev
        entry = dev.readings.get(self.pin)
        if entry is None:
            raise RuntimeError("no reading set for ADC pin %d (dev.set_adc)" % self.pin)
        values, i = entry
        entry[1] = (i + 1) % len(values)
        value = values[i]
        if isinstance(value, OSError):
            raise value
        if dev.recording:
            dev.log.append(("adc", self.pin))
        return value


class Timer:
    """machine.Timer's common part: init(*, mode, callback, period, tick_hz, freq,
    hard) as both ports parse it, a one-shot or periodic deadline, and the
    interrupt, after which a hard callback runs at once and a soft one is queued."""

    ONE_SHOT = 0
    PERIODIC = 1

    def _attach(self, id):
        dev = _dev()
        self._dev = dev
        self.id = id
        self.mode = None
        self.period_us = None
        self.callback = None
        self.hard = False
        self.deadline = None
        self.started = 0
        self.fired = 0
        dev.timers.append(self)

    def init(self, *, mode=PERIODIC, callback=None, period=0xFFFFFFFF, tick_hz=1000, freq=None,
             hard=False):
        # No containers or long ints built here: the valve path calls this with the heap locked.
        if hard is not True and hard is not False:
            raise TypeError("hard must be a bool")
        self._check_hard(hard)
        if freq is not None:
            raise NotModelled("freq=: the pen gives period=")
        check_int("tick_hz", tick_hz, 1, 1000000)
        if tick_hz == 1000:  # ms: no long int for any period the pen uses
            check_int("period", period, 0, 1000000)
            delta = period * 1000
        else:
            delta = period * 1000000 // tick_hz
        delta = self._check_period(delta)
        self.mode = mode
        self.period_us = delta
        self.started = self._dev.t_us
        self.callback = callback
        self.hard = hard
        self.deadline = self._dev.t_us + delta
        if self._dev.recording:
            self._dev.log.append(("timer.init", self.id, mode, period))

    def deinit(self):
        self.deadline = None
        if self._dev.recording:
            self._dev.log.append(("timer.deinit", self.id))

    def due(self):
        """The deadline has come: the interrupt, or deferred while interrupts are masked."""
        dev = self._dev
        self.deadline = None if self.mode == Timer.ONE_SHOT else dev.t_us + self.period_us
        if "timer_dead" in dev.faults:
            return
        if dev.irq_masked:
            dev.deferred.append(self)
            return
        self.interrupt()

    def interrupt(self):
        dev = self._dev
        self.fired += 1
        dev.record(("timer.fire", self.id))
        if self.hard:
            self.callback(self)  # in the interrupt, on time
        else:
            dev.schedule(self.callback, self)  # when the VM next checks for pending work


class WDT:
    def _attach(self, id, timeout):
        dev = _dev()
        self._dev = dev
        self.id = id
        self.timeout = timeout
        self.fed_at = dev.t_us
        self.feeds = 0
        dev.wdt = self  # the ports reconfigure the one watchdog; none can stop it
        dev.record(("wdt.start", timeout))

    def expires_at(self):
        return self.fed_at + self.timeout * 1000 + 1

    def feed(self):
        self.fed_at = self._dev.t_us
        self.feeds += 1
        if self._dev.recording:
            self._dev.log.append(("wdt.feed",))


class I2C:
    """machine.I2C's common part. The ports keep one object per bus id: I2C(id, ...)
    again re-initialises that bus, and an object made earlier writes with the new
    settings. writeto and writevto reach the board part wired to the bus's pins at
    that address. A transfer is a C call that takes its bus time (9 clocks a byte,
    the address byte too); its timeout bounds the whole transfer on both ports
    (rp2: i2c_write_timeout_us; esp32: the new driver's xfer_timeout_ms), after
    which it raises the port's TIMEOUT_ERRNO. Nothing at the address, or the
    "oled_dead" fault: the port's NACK_ERRNO. "i2c_stuck": every transfer times out."""

    def _attach(self, id, settings):
        dev = _dev()
        self._dev = dev
        self.id = id
        dev.i2c[id] = settings
        dev.record(("i2c.init", id, settings["scl"], settings["sda"], settings["freq"],
                    settings["timeout"]))

    def _transfer(self, addr, data):
        dev = self._dev
        bus = dev.i2c[self.id]
        check_int("addr", addr, 0, 127)
        timeout_us = self._timeout_us(bus["timeout"])
        part = dev.i2c_parts.get((bus["scl"], bus["sda"], addr))
        if part is dev.oled and "oled_dead" in dev.faults:
            part = None
        us = (len(data) + 1) * 9 * 1000000 // bus["freq"] if part is not None else 0
        if "i2c_stuck" in dev.faults or us > timeout_us:
            dev.run(timeout_us, False)
            raise OSError(self.TIMEOUT_ERRNO)
        if part is None:
            dev.run(9 * 1000000 // bus["freq"], False)  # the address byte, not acknowledged
            raise OSError(self.NACK_ERRNO)
        dev.run(us, False)
        part.write(data)
        dev.record(("i2c.write", self.id, addr, len(data)))
        return len(data)

    def writeto(self, addr, buf, stop=True):
        return self._transfer(addr, bytes(buf))

    def writevto(self, addr, vector, stop=True):
        """The ports join the buffers into one on the heap (m_new) and send one transfer."""
        return self._transfer(addr, b"".join(bytes(b) for b in vector))


def _pin_id(pin):
    return pin.id if isinstance(pin, Pin) else pin


def disable_irq():
    """machine.disable_irq (extmod/modmachine.c, MICROPY_BEGIN_ATOMIC_SECTION)."""
    dev = _dev()
    dev.record(("disable_irq",))
    was = dev.mask()
    return 1 if was and dev.port.IRQ_STATE_RESTORES else 0


def enable_irq(state):
    """machine.enable_irq: restores the state; interrupts that came meanwhile run now."""
    dev = _dev()
    dev.record(("enable_irq",))
    dev.unmask(bool(state) if dev.port.IRQ_STATE_RESTORES else dev.irq_depth > 1)


def time_pulse_us(pin, pulse_level, timeout_us=1000000):
    """machine.time_pulse_us (extmod/machine_pulse.c): the same on both ports."""
    dev = _dev()
    pin_id = pin.id if isinstance(pin, Pin) else pin
    dev.state(pin_id)
    check_int("timeout_us", timeout_us, 0, _TICKS_MASK)
    result = dev.pulse(pin_id, 1 if pulse_level else 0, timeout_us)
    dev.record(("time_pulse_us", pin_id, pulse_level, timeout_us, result))
    return result


def soft_reset():
    """machine.soft_reset: the interpreter restarts; the chip, its pins and the watchdog do not."""
    dev = _dev()
    dev.ended = "soft"
    raise SystemExit


# --- time ------------------------------------------------------------------------
class Clock:
    """The fake `time` module of one device, plus the test's controls of time."""

    def __init__(self, dev):
        self._dev = dev

    @property
    def t(self):
        """Simulated milliseconds since power-on (unwrapped)."""
        return self._dev.t_us // 1000

    @property
    def interrupt_at(self):
        return self._dev.interrupt_at

    @interrupt_at.setter
    def interrupt_at(self, ms):
        self._dev.interrupt_at = ms

    def at(self, t_ms, action):
        self._dev.at(t_ms, action)

    def ticks_ms(self):
        return (self._dev.t_us // 1000) & _TICKS_MASK

    def ticks_us(self):
        return self._dev.t_us & _TICKS_MASK

    def ticks_add(self, ticks, delta):
        return (ticks + delta) & _TICKS_MASK

    def ticks_diff(self, new, old):
        d = (new - old) & _TICKS_MASK
        return d - _TICKS_HALF - _TICKS_HALF if d >= _TICKS_HALF else d

    def sleep_ms(self, ms):
        """Both ports run pending callbacks while they wait; neither can wait with
        interrupts masked (rp2: WFE for a masked alarm; esp32: a task delay inside
        a critical section)."""
        check_int("sleep_ms", ms, 0, 1 << 29)
        dev = self._dev
        if dev.irq_masked and ms > 0:
            raise WouldHang("sleep_ms with interrupts masked")
        dev.run(ms * 1000, True)
        if dev.interrupt_at is not None and dev.t_us >= dev.interrupt_at * 1000:
            raise KeyboardInterrupt

    def sleep_us(self, us):
        """Busy-waits in C; a wait longer than the port's threshold runs pending
        callbacks as well (rp2: through mp_hal_delay_ms, which cannot wait with
        interrupts masked)."""
        check_int("sleep_us", us, 0, 1 << 29)
        dev = self._dev
        polls = us > dev.port.SLEEP_US_POLLS_ABOVE
        if polls and dev.irq_masked and dev.port.SLEEP_US_POLLING_WAITS_FOR_IRQ:
            raise WouldHang("sleep_us(%d) with interrupts masked" % us)
        dev.run(us, polls)

    def advance(self, ms):
        """Time passes while Python runs (between HAL calls): soft callbacks run."""
        self._dev.run(ms * 1000, True)

    def hang(self, ms, where):
        """The loop hangs for ms: "python" (soft callbacks still run), "c" (inside a C
        call: only interrupts act) or "irq_off" (interrupts masked too: only board parts act)."""
        dev = self._dev
        if where == "python":
            dev.run(ms * 1000, True)
        elif where == "c":
            dev.run(ms * 1000, False)
        elif where == "irq_off":
            was = dev.mask()
            dev.run(ms * 1000, False)
            dev.unmask(was)
        else:
            raise ValueError("where: python, c or irq_off")


# --- micropython ------------------------------------------------------------------
class Micropython:
    def __init__(self, dev):
        self._dev = dev
        self.emergency_buf = 0

    def alloc_emergency_exception_buf(self, size):
        check_int("size", size, 1, 4096)
        self.emergency_buf = size
        self._dev.record(("emergency_buf", size))

    def kbd_intr(self, chr):
        """micropython.kbd_intr: the byte that raises KeyboardInterrupt, -1 for none
        (py/modmicropython.c takes any int; shared/runtime/interrupt_char.c)."""
        if isinstance(chr, bool) or not isinstance(chr, int):
            raise TypeError("can't convert to int")
        self._dev.usb.interrupt_char = chr
        self._dev.record(("kbd_intr", chr))


# --- the USB serial: sys.stdin.buffer, sys.stdout.buffer, select -------------------
POLLIN = 1  # MP_STREAM_POLL_RD (py/stream.h), select.POLLIN on both ports
POLLOUT = 4  # MP_STREAM_POLL_WR
CHAR_CTRL_C = 3  # the interrupt character while a script runs (shared/runtime/pyexec.c)


class UsbSerial:
    """The REPL's USB-CDC serial (TinyUSB, shared/tinyusb/mp_usbd_cdc.c on both ports)
    and the host at its other end:
    - bytes the host sends go into the stdin ring (port.STDIN_RING bytes); what does
      not fit waits at the host (the endpoint is not read: USB flow control). The
      interrupt character, while set, empties the ring and schedules
      KeyboardInterrupt, raised at the VM's next check (here: the next call);
    - read(n) and readinto(buf) return only once n bytes came (stdio_buffer_read
      loops on mp_hal_stdin_rx_chr): with fewer in the ring the fake raises WouldHang;
    - POLLIN: the ring holds a byte. POLLOUT: rp2 only while the TX FIFO has room or
      no host is connected (mp_usbd_cdc_poll_interfaces); esp32 always
      (port.POLLOUT_ALWAYS: its mp_hal_stdio_poll reports the UART REPL writable);
    - write(data), with a host connected, returns once the TX FIFO (CDC_TX_FIFO
      bytes) took all of it, waiting up to 500 ms for the host to read
      (MICROPY_HW_USB_CDC_TX_TIMEOUT): WouldHang here when it would wait. Without a
      host the FIFO keeps the newest bytes and nothing waits."""

    CDC_TX_FIFO = 256  # CFG_TUD_CDC_TX_BUFSIZE at full speed (shared/tinyusb/tusb_config.h)

    def __init__(self, dev):
        self._dev = dev
        self.interrupt_char = CHAR_CTRL_C
        self.ring = []  # stdin, as the port buffers it
        self.waiting = []  # sent by the host, not yet taken off the endpoint
        self.tx = []  # written, not yet read by the host
        self.connected = True  # a host has the port open (DTR)
        self.kbd_pending = False
        self.stdin = _StdioBuffer(self, True)
        self.stdout = _StdioBuffer(self, False)

    def _check(self):
        if self.kbd_pending:
            self.kbd_pending = False
            raise KeyboardInterrupt

    def _pump(self):
        room = self._dev.port.STDIN_RING - len(self.ring)
        while self.waiting and room > 0:
            b = self.waiting.pop(0)
            if b == self.interrupt_char:
                self.ring = []
                self.kbd_pending = True
                room = self._dev.port.STDIN_RING
            else:
                self.ring.append(b)
                room -= 1

    def host_send(self, data):
        self.waiting.extend(bytes(data))
        self._pump()

    def host_read(self):
        data = bytes(self.tx)
        self.tx = []
        return data

    def readable(self):
        self._pump()
        return bool(self.ring)

    def writable(self):
        return (self._dev.port.POLLOUT_ALWAYS or not self.connected
                or len(self.tx) < self.CDC_TX_FIFO)

    def read(self, n):
        self._check()
        self._pump()
        if len(self.ring) < n:
            raise WouldHang("stdin read(%d) with %d bytes in the ring" % (n, len(self.ring)))
        data = bytes(self.ring[:n])
        self.ring = self.ring[n:]
        self._pump()
        return data

    def write(self, data):
        self._check()
        data = bytes(data)
        if not self.connected:
            self.tx = (self.tx + list(data))[-self.CDC_TX_FIFO:]
        elif len(self.tx) + len(data) > self.CDC_TX_FIFO:
            raise WouldHang("stdout write of %d bytes with %d free in the TX FIFO"
                            % (len(data), self.CDC_TX_FIFO - len(self.tx)))
        else:
            self.tx.extend(data)
        self._dev.record(("usb.write", len(data)))
        return len(data)


class _StdioBuffer:
    """sys.stdin.buffer or sys.stdout.buffer (shared/runtime/sys_stdio_mphal.c)."""

    def __init__(self, usb, is_in):
        self._usb = usb
        self._in = is_in

    def read(self, n):
        if not self._in:
            raise OSError(1)  # MP_EPERM
        return self._usb.read(n)

    def readinto(self, buf):
        data = self.read(len(buf))
        buf[:] = data
        return len(data)

    def write(self, data):
        if self._in:
            raise OSError(1)
        return self._usb.write(data)


class _Std:
    def __init__(self, buffer):
        self.buffer = buffer


class Sys:
    """The chip's `sys`, as far as the link uses it."""

    def __init__(self, dev):
        self.stdin = _Std(dev.usb.stdin)
        self.stdout = _Std(dev.usb.stdout)


class Poll:
    """select.poll() on the stdio streams (extmod/modselect.c; their ioctl is
    mp_hal_stdio_poll). Only the stdio objects are modelled."""

    def __init__(self, dev):
        self._dev = dev
        self._entries = []

    def register(self, obj, eventmask=POLLIN | POLLOUT):
        if not isinstance(obj, _StdioBuffer):
            raise NotModelled("poll on anything but the stdio streams")
        self._entries = [e for e in self._entries if e[0] is not obj] + [(obj, eventmask)]

    def _ready(self):
        usb = self._dev.usb
        usb._check()
        found = []
        for obj, mask in self._entries:
            flags = 0
            if mask & POLLIN and usb.readable():
                flags |= POLLIN
            if mask & POLLOUT and usb.writable():
                flags |= POLLOUT
            if flags:
                found.append((obj, flags))
        return found

    def poll(self, timeout=-1):
        if timeout != 0:
            raise NotModelled("poll with a timeout: the link never waits")
        return self._ready()

    def ipoll(self, timeout=-1, flags=0):
        return iter(self.poll(timeout))


class Select:
    """The chip's `select` module."""
    POLLIN = POLLIN
    POLLOUT = POLLOUT

    def __init__(self, dev):
        self._dev = dev

    def poll(self):
        return Poll(self._dev)
