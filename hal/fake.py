"""The host fake of the HAL: the same small interface as hal.machine_hal, on a
simulated clock that the caller advances. It models what the hardware does on
its own (the one-shot backstop timer, the watchdog, a stuck valve) so that the
simulator and the tests see the same failure behaviour as the device.

The tip temperature comes from a plant object (hal.plant.Plant in the
simulator, or anything with a tip_c attribute in tests).
"""
from firmware import alarms
from firmware.compat import TICKS_MASK

# Faults a scenario or test can inject; each names what the hardware does wrong.
FAULTS = ("thermistor_open", "thermistor_short", "thermistor_stuck", "adc_error",
          "valve_stuck_open", "cartridge_empty", "low_battery",
          "thermistor_jump",  # a loose contact: the reading steps 30 C colder at once
          "thermistor_degraded",  # a partly shorted element: reads +65 C, beyond the range
          "hal_exception")  # the tip converter driver raises


class FakeHal:
    def __init__(self, thermistor_, plant, start_ms=0, watchdog_reset=False, has_master=False):
        self.thermistor = thermistor_
        self.has_master = has_master
        self.plant = plant
        self.t_ms = start_ms
        self.watchdog_reset = watchdog_reset
        self.pressed = False
        self.reset_pending = False
        self.faults = set()
        self.valve_cmd = False
        self.master_cmd = False
        self.valve_open = False  # the physical valve
        self.backstop_deadline = None
        self.backstop_fired = False
        self.wdt_ms = None
        self.wdt_fed_ms = start_ms
        self.wdt_expired = False
        self.tone_hz = 0
        self.led_on = False
        self.stuck_raw = None

    # --- the HAL interface ------------------------------------------------------
    def now_ms(self):
        return self.t_ms & TICKS_MASK

    def sleep_ms(self, ms):
        self.advance(ms)

    def read_tip(self):
        if "hal_exception" in self.faults:
            raise OSError(5, "tip converter driver failed")
        if "adc_error" in self.faults:
            return -1
        if "thermistor_open" in self.faults:
            return 65535
        if "thermistor_short" in self.faults:
            return 0
        cc = int(round(self.plant.tip_c * 100))
        if "thermistor_jump" in self.faults:
            cc -= 3000
        if "thermistor_degraded" in self.faults:
            cc = 6500
        raw = self._quantise(self.thermistor.raw_for(cc))
        if "thermistor_stuck" in self.faults:
            if self.stuck_raw is None:
                self.stuck_raw = raw
            return self.stuck_raw
        return raw

    def trigger(self):
        return self.pressed

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
        if self.backstop_fired:
            bits |= alarms.F_BACKSTOP
        return bits

    def valve(self, on, backstop_ms):
        on = on and not self.backstop_fired  # a fired backstop keeps it closed, as on the device
        if on:  # re-armed on every call while open: it fires only if the loop stops
            self.backstop_deadline = self.t_ms + backstop_ms
        else:
            self.backstop_deadline = None
        self.valve_cmd = on
        self._update_valve()

    def master(self, on):
        self.master_cmd = on and not self.backstop_fired
        self._update_valve()

    def close_valves(self):
        self.valve_cmd = False
        self.master_cmd = False
        self.backstop_deadline = None
        self._update_valve()

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

    # --- what the hardware does on its own -------------------------------------
    def advance(self, ms):
        """Moves the clock; the backstop timer and the watchdog act on their own."""
        self.t_ms += ms
        if self.backstop_deadline is not None and self.t_ms >= self.backstop_deadline:
            self.backstop_deadline = None
            self.backstop_fired = True
            self.valve_cmd = False
            self.master_cmd = False
            self._update_valve()
        if self.wdt_ms is not None and self.t_ms - self.wdt_fed_ms > self.wdt_ms:
            self.wdt_expired = True
            self.close_valves()  # a watchdog reset drives every pin to its reset state

    # --- fault injection --------------------------------------------------------
    def inject(self, name):
        if name not in FAULTS:
            raise ValueError("unknown fault: %s" % name)
        self.faults.add(name)
        if name == "cartridge_empty":
            self.plant.empty_cartridge()
        self._update_valve()

    def clear(self, name):
        if name not in FAULTS:
            raise ValueError("unknown fault: %s" % name)
        self.faults.discard(name)
        if name == "thermistor_stuck":
            self.stuck_raw = None
        self._update_valve()

    def _update_valve(self):
        # Two valves in series where the board has a master; a stuck valve ignores its command.
        main = "valve_stuck_open" in self.faults or self.valve_cmd
        self.valve_open = main and (self.master_cmd or not self.has_master)

    def _quantise(self, raw):
        lsb = self.thermistor.lsb
        return min(raw // lsb * lsb, 65535)
