"""Hand-written fakes of MicroPython's `machine`, `time` and `micropython`, for
tests of hal.machine_hal and hal.boot on the host and under the WebAssembly
MicroPython (so it is written in the subset both run).

This module stands in for `machine` itself: reset(port) starts a fresh device,
then MachineHal(board, machine_fake, machine_fake.clock). Only the methods and
keyword arguments the real classes have exist here, so a misspelt call fails as
it would on the pen; values are range-checked per port. Calls are recorded in
order in `log` while `recording` is true (the heap-lock test turns it off: a
recording append allocates). Time is simulated: the clock moves only in
sleep_ms() or advance(), and the one-shot timers and the watchdog act then.
"""

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

_TICKS_MASK = (1 << 30) - 1  # ticks wrap at 2**30; 2**30 itself is no small int on MicroPython
_TICKS_HALF = 1 << 29

# pins, valid ADC pins, timer ids, longest watchdog timeout, ADC has read_uv and atten
_PORTS = {
    "rp2": (30, (26, 27, 28, 29), (-1,), 8388, False),
    "esp32": (49, tuple(range(1, 21)), (0, 1, 2, 3), 0x7FFFFFFF, True),
}

port = "rp2"
log = []
recording = True
clock = None
wdt = None  # the started watchdog
wdt_expired = False
micropython = None
_pins = {}
_readings = {}
_timers = {}
_reset_cause = PWRON_RESET


def reset(port_name="rp2", reset_cause_=PWRON_RESET, start_ms=0):
    """A fresh device of the given port, as after a reset with that cause."""
    global port, log, recording, clock, wdt, wdt_expired, micropython, ADC
    global _pins, _readings, _timers, _reset_cause
    if port_name not in _PORTS:
        raise ValueError("unknown port: " + port_name)
    port = port_name
    log = []
    recording = True
    clock = Clock(start_ms)
    wdt = None
    wdt_expired = False
    micropython = Micropython()
    ADC = AdcUv if _PORTS[port][4] else Adc
    _pins = {}
    _readings = {}
    _timers = {}
    _reset_cause = reset_cause_


def calls(kind):
    """The recorded calls of one kind, e.g. calls("wdt.feed")."""
    return [entry for entry in log if entry[0] == kind]


def _check_int(name, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int" % name)
    if not lo <= value <= hi:
        raise ValueError("%s %d outside %d..%d" % (name, value, lo, hi))


# --- test controls --------------------------------------------------------------
def set_input(pin_id, level):
    """What an input pin reads (a switch to ground reads 0 when pressed)."""
    _state(pin_id).input = level


def set_adc(pin_id, *values):
    """Successive ADC results for a pin, repeated; an OSError instance is raised."""
    _readings[pin_id] = [list(values), 0]


def driven(pin_id):
    """True while the pin drives its load: a GPIO output high, or PWM duty above 0."""
    state = _pins.get(pin_id)
    if state is None:
        return False
    if state.pwm is not None:
        return state.pwm.duty > 0
    return state.mode == Pin.OUT and state.level == 1


def pwm_of(pin_id):
    return _pins[pin_id].pwm


def timer(timer_id):
    return _timers[timer_id]


def _state(pin_id):
    _check_int("pin", pin_id, 0, _PORTS[port][0] - 1)
    state = _pins.get(pin_id)
    if state is None:
        state = _PinState()
        _pins[pin_id] = state
    return state


class _PinState:
    def __init__(self):
        self.mode = None
        self.pull = None
        self.level = 0
        self.input = 1
        self.pwm = None


# --- machine --------------------------------------------------------------------
class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2

    def __init__(self, id, mode=-1, pull=-1, *, value=None):
        state = _state(id)
        self.id = id
        if mode != -1:
            if mode not in (Pin.IN, Pin.OUT, Pin.OPEN_DRAIN):
                raise ValueError("invalid pin mode")
            state.mode = mode
            state.pwm = None  # back to a plain GPIO
        if pull != -1:
            if pull not in (None, Pin.PULL_UP, Pin.PULL_DOWN):
                raise ValueError("invalid pull")
            state.pull = pull
        if value is not None:
            self.value(value)
        if recording:
            log.append(("pin.init", id, mode, pull, value))

    def value(self, x=None):
        state = _pins[self.id]
        if x is None:
            return state.input if state.mode == Pin.IN else state.level
        if state.mode != Pin.OUT:
            raise ValueError("pin %d is not an output" % self.id)
        state.level = 1 if x else 0
        if recording:
            log.append(("pin", self.id, state.level))


class PWM:
    def __init__(self, dest, *, freq=None, duty_u16=None):
        if not isinstance(dest, Pin):
            raise TypeError("PWM needs a Pin")
        self.pin = dest.id
        self.hz = 0
        self.duty = 0
        _pins[dest.id].pwm = self
        if recording:
            log.append(("pwm.init", dest.id, freq, duty_u16))
        if freq is not None:
            self.freq(freq)
        if duty_u16 is not None:
            self.duty_u16(duty_u16)

    def freq(self, value=None):
        if value is None:
            return self.hz
        _check_int("freq", value, 8, 40000000)
        self.hz = value
        if recording:
            log.append(("pwm.freq", self.pin, value))

    def duty_u16(self, value=None):
        if value is None:
            return self.duty
        _check_int("duty_u16", value, 0, 65535)
        self.duty = value
        if recording:
            log.append(("pwm.duty", self.pin, value))

    def deinit(self):
        self.duty = 0
        _pins[self.pin].pwm = None


class Adc:
    """rp2: read_u16 only, no attenuation."""

    def __init__(self, id):
        pin_id = id.id if isinstance(id, Pin) else id
        if pin_id not in _PORTS[port][1]:
            raise ValueError("no ADC on pin %d" % pin_id)
        self.pin = pin_id

    def read_u16(self):
        return self._next()

    def _next(self):
        entry = _readings.get(self.pin)
        if entry is None:
            raise RuntimeError("no reading set for ADC pin %d (machine_fake.set_adc)" % self.pin)
        values, i = entry
        entry[1] = (i + 1) % len(values)
        value = values[i]
        if isinstance(value, OSError):
            raise value
        if recording:
            log.append(("adc", self.pin))
        return value


class AdcUv(Adc):
    """esp32: attenuation and calibrated microvolts."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3

    def __init__(self, id, *, atten=None):
        Adc.__init__(self, id)
        if atten not in (None, AdcUv.ATTN_0DB, AdcUv.ATTN_2_5DB, AdcUv.ATTN_6DB, AdcUv.ATTN_11DB):
            raise ValueError("invalid attenuation")
        self.atten = atten

    def read_uv(self):
        return self._next()


ADC = Adc


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1

    def __init__(self, id=-1):
        if id not in _PORTS[port][2]:
            raise ValueError("Timer doesn't exist")
        self.id = id
        self.mode = None
        self.period = None
        self.callback = None
        self.hard = None
        self.deadline = None
        self.fired = 0
        _timers[id] = self

    def init(self, *, mode=PERIODIC, period=-1, callback=None, hard=None):
        # No tuples built here: the valve path calls this with the heap locked.
        if mode != Timer.ONE_SHOT and mode != Timer.PERIODIC:
            raise ValueError("invalid timer mode")
        _check_int("period", period, 0, _TICKS_MASK)
        if callback is None or not callable(callback):
            raise TypeError("callback must be callable")
        if hard is not None and hard is not True and hard is not False:
            raise TypeError("hard must be a bool")
        self.mode = mode
        self.period = period
        self.callback = callback
        self.hard = hard
        self.deadline = clock.t + period
        if recording:
            log.append(("timer.init", self.id, mode, period))

    def deinit(self):
        self.deadline = None
        if recording:
            log.append(("timer.deinit", self.id))

    def _due(self, now):
        if self.deadline is None or now < self.deadline:
            return
        self.deadline = None if self.mode == Timer.ONE_SHOT else now + self.period
        self.fired += 1
        if recording:
            log.append(("timer.fire", self.id))
        self.callback(self)


class WDT:
    def __init__(self, *, id=0, timeout=5000):
        global wdt
        if wdt is not None:
            raise RuntimeError("the watchdog is already running and cannot be reconfigured")
        _check_int("timeout", timeout, 1, _PORTS[port][3])
        self.id = id
        self.timeout = timeout
        self.fed_at = clock.t
        self.feeds = 0
        wdt = self
        if recording:
            log.append(("wdt.start", timeout))

    def feed(self):
        self.fed_at = clock.t
        self.feeds += 1
        if recording:
            log.append(("wdt.feed",))


def reset_cause():
    if recording:
        log.append(("reset_cause",))
    return _reset_cause


# --- time -----------------------------------------------------------------------
class Clock:
    """The fake `time` module. interrupt_at: simulated ms at which sleep_ms raises
    KeyboardInterrupt, as Ctrl-C from mpremote would."""

    def __init__(self, start_ms=0):
        self.t = start_ms
        self.interrupt_at = None
        self._events = []

    def at(self, t_ms, action):
        """Calls action() once the clock reaches t_ms (a test's finger on a switch)."""
        self._events.append((t_ms, action))

    def ticks_ms(self):
        return self.t & _TICKS_MASK

    def ticks_add(self, ticks, delta):
        return (ticks + delta) & _TICKS_MASK

    def ticks_diff(self, new, old):
        d = (new - old) & _TICKS_MASK
        return d - _TICKS_HALF - _TICKS_HALF if d >= _TICKS_HALF else d

    def sleep_ms(self, ms):
        _check_int("sleep_ms", ms, 0, 1 << 30)
        self.advance(ms)
        if self.interrupt_at is not None and self.t >= self.interrupt_at:
            raise KeyboardInterrupt

    def advance(self, ms):
        """Moves time 1 ms at a time; due timers fire and the watchdog may expire."""
        global wdt_expired
        for _ in range(ms):
            self.t += 1
            for event in [e for e in self._events if e[0] <= self.t]:
                self._events.remove(event)
                event[1]()
            for t in list(_timers.values()):
                t._due(self.t)
            if wdt is not None and self.t - wdt.fed_at > wdt.timeout and not wdt_expired:
                wdt_expired = True
                if recording:
                    log.append(("wdt.expired",))


# --- micropython ----------------------------------------------------------------
class Micropython:
    def __init__(self):
        self.emergency_buf = 0

    def alloc_emergency_exception_buf(self, size):
        _check_int("size", size, 1, 4096)
        self.emergency_buf = size
        if recording:
            log.append(("emergency_buf", size))


reset()
