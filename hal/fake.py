"""The host fake of the HAL: the same small interface as hal.machine_hal, on a
simulated clock that the caller advances. It models what the hardware does on
its own (the backstop timer, the board's monostable that holds the second
valve, the watchdog, a stuck valve, a drifting sensor) so that the simulator and
the tests see the same failure behaviour as the device.

The tip temperature comes from a plant object (the simulator's physical model,
or anything with a tip_c attribute in tests). Runs under MicroPython too (the
virtual pen).
"""
from firmware import alarms, thermistor
from firmware.compat import TICKS_MASK

# Faults a scenario or test can inject; each names what the hardware does wrong.
# The thermistor_* faults hit one sensor (sensor 1 unless told otherwise).
SENSOR_FAULTS = ("thermistor_open", "thermistor_short", "thermistor_stuck",
                 "thermistor_jump",  # a loose contact: the reading steps 30 C colder at once
                 "thermistor_degraded",  # a partly shorted element: reads +65 C, beyond the range
                 "thermistor_drift",  # reads offset_c off (ageing, a cracked bead)
                 "thermistor_detached")  # the bead lifts off the tip and relaxes to the handle
FAULTS = SENSOR_FAULTS + (
    "adc_error", "valve_stuck_open", "master_stuck_open", "cartridge_empty", "low_battery",
    "hal_exception",  # the tip converter driver raises
    "flash_error")  # every file operation on the pen's flash fails (EIO)

# Where the loop can hang, and which backstops still act there.
HANG_PYTHON = "python"  # a Python loop: soft and hard timer callbacks still run
HANG_C = "c"  # inside a C call: only hard (interrupt) callbacks run
HANG_IRQ_OFF = "irq_off"  # interrupts masked: no callback runs; only board parts act
HANG_WHERE = (HANG_PYTHON, HANG_C, HANG_IRQ_OFF)

DETACHED_TAU_MS = 3000  # a detached bead relaxes to the handle with this time constant
_SENSORS = (1, 2)
_NO_FAULTS = ()
# (sensor 1, sensor 2), each (Thermistor, {centi-degrees: reading}), per board's electrics.
_CURVES = {}


def _curves(board):
    """The board's two sensor curves and their readings so far, shared by every fake
    of a board with the same divider, converter and thermistor (a test may build a
    board of its own: the key is its values, not its name)."""
    key = (board.DIVIDER_OHM, board.DIVIDER2_OHM, board.ADC_BITS,
           getattr(board, "THERMISTOR_POINTS", None), getattr(board, "THERMISTOR_R0_OHM", None),
           getattr(board, "THERMISTOR_T0_C", None), getattr(board, "THERMISTOR_BETA", None))
    curves = _CURVES.get(key)
    if curves is None:
        curves = _CURVES[key] = ((thermistor.from_board(board), {}),
                                 (thermistor.from_board(board, True), {}))
    return curves


class FakeHal:
    def __init__(self, board, plant, start_ms=0, watchdog_reset=False):
        # Each sensor's curve and its reading per whole centi-degree, converted once and
        # shared by every fake of the same electrical board: the float curve was the
        # simulation's costliest step after the pen's own tick, and its tables cost a
        # few ms per fake (a Monte Carlo builds one per sample).
        curves = _curves(board)
        self.thermistors = (curves[0][0], curves[1][0])
        self._raw_at = (curves[0][1], curves[1][1])
        self.has_master = board.HAS_MASTER_VALVE
        self.timer_hard = board.BACKSTOP_TIMER_HARD
        self.enable_hold_ms = board.ENABLE_HOLD_MIN_MS
        self.plant = plant
        # What each sensor's bead reads (the physical model's part tolerances), or the
        # tip temperature itself from a plant that models none.
        self._bead_c = getattr(plant, "bead_c", None)
        self.t_ms = start_ms
        self.watchdog_reset = watchdog_reset
        self.deliberate_reset = False
        self.boot_ms = start_ms  # the clock the firmware reads restarts at every boot
        self.pressed = False
        self.mode_down = False
        self.reset_pending = False
        self.faults = {}  # name -> sensor (1 or 2), or 0 for faults of the whole pen
        self.offset_cc = [0, 0]  # thermistor_drift, per sensor
        self.detached_cc = [None, None]  # what a detached bead reads, per sensor
        self.stuck_raw = [None, None]
        self.hang = None  # None, or where the loop hangs (HANG_WHERE)
        self.valve_cmd = False
        self.master_cmd = False
        self.valve_open = False  # the main valve, physical
        self.master_open = False  # the second valve, physical
        self.backstop_deadline = None
        self.backstop_fired = False
        self.enable_until = None  # the monostable's output is high until then
        self.keepalive = 0
        self.enable_expired = False  # it fell while the second valve was commanded open
        self.wdt_ms = None
        self.wdt_fed_ms = start_ms
        self.wdt_expired = False
        self.tone_hz = 0
        self.led_on = False

    @property
    def gas_flows(self):
        """Both valves open: gas reaches the tip."""
        return self.valve_open and self.master_open

    # --- the HAL interface ------------------------------------------------------
    def now_ms(self):
        return (self.t_ms - self.boot_ms) & TICKS_MASK

    def sleep_ms(self, ms):
        self.advance(ms)

    def read_tip(self):
        if self.faults or self.detached_cc[0] is not None:
            return self._read(1)
        bead_c = self._bead_c  # the healthy path of _read, inline: twice a tick
        cc = int(round((self.plant.tip_c if bead_c is None else bead_c(1)) * 100)) + \
            self.offset_cc[0]
        raw = self._raw_at[0].get(cc)
        return self._read(1) if raw is None else raw

    def read_tip2(self):
        if self.faults or self.detached_cc[1] is not None:
            return self._read(2)
        bead_c = self._bead_c
        cc = int(round((self.plant.tip_c if bead_c is None else bead_c(2)) * 100)) + \
            self.offset_cc[1]
        raw = self._raw_at[1].get(cc)
        return self._read(2) if raw is None else raw

    def _read(self, sensor):
        faults = self.faults
        mine = _NO_FAULTS
        if faults:  # a healthy pen skips every fault's test
            if "hal_exception" in faults:
                raise OSError(5, "tip converter driver failed")
            if "adc_error" in faults:
                return -1
            mine = self._sensor_faults(sensor)
            if "thermistor_open" in mine:
                return 65535
            if "thermistor_short" in mine:
                return 0
        i = sensor - 1
        bead_c = self._bead_c
        cc = int(round((self.plant.tip_c if bead_c is None else bead_c(sensor)) * 100))
        if self.detached_cc[i] is not None:
            cc = self.detached_cc[i]
        cc += self.offset_cc[i]
        if mine:
            if "thermistor_jump" in mine:
                cc -= 3000
            if "thermistor_degraded" in mine:
                cc = 6500
        raw = self._raw_at[i].get(cc)
        if raw is None:
            therm = self.thermistors[i]
            raw = self._raw_at[i][cc] = self._quantise(therm, therm.raw_for(cc))
        if mine and "thermistor_stuck" in mine:
            if self.stuck_raw[i] is None:
                self.stuck_raw[i] = raw
            return self.stuck_raw[i]
        return raw

    def _sensor_faults(self, sensor):
        return [name for name, s in self.faults.items() if s == sensor]

    def trigger(self):
        return self.pressed

    def mode(self):
        return self.mode_down

    def reset_pressed(self):
        pending = self.reset_pending
        self.reset_pending = False
        return pending

    def conditions(self):
        bits = 0
        if "adc_error" in self.faults:
            bits |= alarms.F_ADC
        if "low_battery" in self.faults:
            bits |= alarms.F_LOW_BATTERY
        if self.backstop_fired or self.enable_expired:
            bits |= alarms.F_BACKSTOP
        return bits

    def valve(self, on, backstop_ms):
        # A fired backstop or a fallen enable keeps it closed, as on the device.
        on = on and not self.backstop_fired and not self.enable_expired
        if on:  # re-armed on every call while open: it fires only if the loop stops
            self.backstop_deadline = self.t_ms + backstop_ms
        else:
            self.backstop_deadline = None
        self.valve_cmd = on
        if self.faults:
            self._update_valves()
        else:  # _update_valves' healthy path, inline: every tick
            self.valve_open = on
            self.master_open = self.master_cmd or not self.has_master

    def master(self, on):
        """Each call while on toggles the keepalive, as the device does: the board's
        '123 re-triggers on the rising edge, every second call, and holds for
        enable_hold_ms (its shortest, ENABLE_HOLD_MIN_MS) after it."""
        on = on and not self.backstop_fired and not self.enable_expired
        if on:
            self.keepalive ^= 1
            if self.keepalive:
                self.enable_until = self.t_ms + self.enable_hold_ms
        else:
            self.keepalive = 0  # idles low, so the next call is a rising edge
        self.master_cmd = on
        if self.faults:
            self._update_valves()
        else:
            self.valve_open = self.valve_cmd
            self.master_open = on or not self.has_master

    def close_valves(self):
        self.valve_cmd = False
        self.master_cmd = False
        self.backstop_deadline = None
        self._update_valves()

    def tone(self, hz):
        self.tone_hz = hz

    def led(self, on):
        self.led_on = on

    def feed_watchdog(self):
        self.wdt_fed_ms = self.t_ms

    def start_watchdog(self, ms):
        self.wdt_ms = ms
        self.wdt_fed_ms = self.t_ms

    def reset_cause_watchdog(self):
        return self.watchdog_reset

    def reset_cause_deliberate(self):
        return self.deliberate_reset

    # --- what the hardware does on its own -------------------------------------
    def advance(self, ms):
        """Moves the clock; the backstop timer, the monostable and the watchdog act on their own."""
        self.t_ms += ms
        detached = self.detached_cc
        if detached[0] is not None or detached[1] is not None:
            self._relax_detached(ms)
        if (self.backstop_deadline is not None and self.t_ms >= self.backstop_deadline
                and self._timer_runs()):
            self.backstop_deadline = None
            self.backstop_fired = True
            self.valve_cmd = False  # the handler closes both valves
            self.master_cmd = False
        if self.master_cmd and self.t_ms >= self.enable_until:
            self.master_cmd = False  # the gate's enable fell: the second valve closes
            self.enable_expired = True
        self._update_valves()
        if self.wdt_ms is not None and self.t_ms - self.wdt_fed_ms > self.wdt_ms:
            self.wdt_expired = True
            self.close_valves()  # a watchdog reset drives every pin to its reset state

    def _timer_runs(self):
        """Whether the backstop timer's callback can run while the loop is where it is."""
        if self.hang == HANG_IRQ_OFF:
            return False
        return self.hang != HANG_C or self.timer_hard

    def restart(self):
        """A reset of the MCU: the pins, the timer and the flags return to their reset state."""
        self.close_valves()
        self.wdt_expired = False
        self.backstop_fired = False
        self.enable_expired = False
        self.enable_until = None
        self.keepalive = 0
        self.hang = None
        self.boot_ms = self.t_ms

    def _relax_detached(self, ms):
        for i in (0, 1):
            cc = self.detached_cc[i]
            if cc is not None:
                handle_cc = int(round(self.plant.handle_c * 100))
                self.detached_cc[i] = cc + (handle_cc - cc) * ms // DETACHED_TAU_MS

    # --- fault injection --------------------------------------------------------
    def inject(self, name, sensor=None, offset_c=None):
        """sensor: 1 or 2 for the thermistor_* faults; offset_c for thermistor_drift."""
        self._check(name, sensor)
        if name in SENSOR_FAULTS:
            sensor = sensor or 1
            if name == "thermistor_drift":
                self.offset_cc[sensor - 1] = int(round((offset_c or 0) * 100))
            elif name == "thermistor_detached":
                self.detached_cc[sensor - 1] = int(round(self.plant.tip_c * 100))
        self.faults[name] = sensor or 0
        if name == "cartridge_empty":
            self.plant.empty_cartridge()
        self._update_valves()

    def clear(self, name, sensor=None):
        self._check(name, sensor)
        if self.faults.pop(name, None) is None:
            return
        i = (sensor or 1) - 1
        if name == "thermistor_drift":
            self.offset_cc[i] = 0
        elif name == "thermistor_detached":
            self.detached_cc[i] = None
        elif name == "thermistor_stuck":
            self.stuck_raw[i] = None
        self._update_valves()

    def _check(self, name, sensor):
        if name not in FAULTS:
            raise ValueError("unknown fault: %s" % name)
        if sensor is not None and (name not in SENSOR_FAULTS or sensor not in _SENSORS):
            raise ValueError("sensor goes with a thermistor fault and is 1 or 2")

    def _update_valves(self):
        # A stuck valve ignores its command; each is open on its own, gas flows through both.
        faults = self.faults
        if not faults:  # the healthy pen's path, three times a tick
            self.valve_open = self.valve_cmd
            self.master_open = self.master_cmd or not self.has_master
            return
        self.valve_open = "valve_stuck_open" in faults or self.valve_cmd
        self.master_open = ("master_stuck_open" in faults or self.master_cmd
                            or not self.has_master)

    def _quantise(self, therm, raw):
        lsb = therm.lsb
        return min(raw // lsb * lsb, 65535)
