"""Runs the real firmware core (App + Pen) against the HAL fake wired to the
physical model, tick by tick on a simulated clock, and records what happened.

Trace columns and summary keys are a public interface (README, "Outputs"): add
new ones at the end, never rename.
"""
from boards.sim import board as sim_board
from firmware import (alarms, config as config_mod, limits, pen as pen_mod, record as record_mod,
                      startup, states)
from firmware.app import App
from hal.storage import CONFIG_FILES, Storage
from host_tools.pens import flash_image
from hal.fake import FakeHal
from host_tools.sim.plant import Plant

TRACE_COLUMNS = ("t_s", "state", "trigger", "valve_cmd", "valve_open", "tip_c", "reading_c",
                 "target_c", "alarm", "fault", "gas_g", "beep", "tone_hz", "led", "duty",
                 "contact", "applications", "end_reason", "master_cmd", "master_open",
                 "reading2_c", "profile", "session", "gas_left_est_g", "skin_c", "basal_c",
                 "ice_mm", "lethal_mm")
_DT_MS = limits.TICK_MS
_DT_S = _DT_MS / 1000.0
# {"cartridge": "new"}: mode held this long, reset pressed at its start (firmware/app.py).
CARTRIDGE_GESTURE_MS = 200
# The basal layer's time below this is counted per application: melanocytes are
# damaged at about -5 C (SOURCES.md).
BASAL_DAMAGE_C = limits.PIGMENT_FLOOR_CC / 100.0


class Result:
    def __init__(self, scenario, trace, summary):
        self.scenario = scenario
        self.trace = trace  # list of tuples in TRACE_COLUMNS order (empty unless recorded)
        self.summary = summary


class _Flash:
    """The pen's file system, failing with EIO while the HAL has the flash_error fault."""

    def __init__(self, fs, hal):
        self._fs = fs
        self._hal = hal

    def __getattr__(self, name):
        if "flash_error" in self._hal.faults:
            raise OSError(5, "flash error")
        return getattr(self._fs, name)


class Simulation:
    """One scenario run. The firmware boots as on the device (firmware.startup), with
    its flash a littlefs image: flash is (LittleFS, context) from host_tools.pens.flash_image,
    or None for a new, empty one. make_pen(board, profile, now_ms, watchdog_reset)
    replaces the firmware with another controller (the open-loop baseline, which
    keeps no record) that runs through the same loop. screens: give the pen the
    board's display and keep its frames (host_tools/sim/screens.py)."""

    def __init__(self, scenario, board=sim_board, make_pen=None, record=True, flash=None,
                 screens=False):
        self.sc = scenario
        self.screens = None
        if screens:
            from host_tools.sim.screens import Recorder

            self.screens = Recorder(board)
        self.board = board
        self.make_pen = make_pen
        self.record = record
        self.plant = Plant(**scenario.plant)
        self.hal = FakeHal(board, self.plant)
        self.flash = flash or flash_image.new_image()
        self.storage = Storage(_Flash(flash_image.LfsFs(self.flash[0]), self.hal))
        self.boots = []
        self.powered = True
        if make_pen is None:
            self._store_config()
        self._boot(0, record_mod.CAUSE_POWER)
        self.hang_until_ms = -1
        self.reboots = 0
        self.trace = []
        self.apps = []
        self.faults = []
        self.alarms_seen = []
        self.open_run_ms = 0
        self.max_open_ms = 0
        self.open_total_ms = 0
        self.min_tip_c = self.plant.tip_c
        self._plant_lethal_c = self.plant.lethal_c  # when the profile names none
        self._lethal_from(self.app.pen.profile)
        self._skin_c = self.min_skin_c = self.plant.skin_c
        self._tissue_steps = -1
        self._dose = None  # the application the skin's figures go to (until the next starts)
        self._skin_readouts()
        self.hardware = []  # what the hardware did on its own: backstop, watchdog
        self._fault_bits = 0
        self._alarm = None  # the last tick's alarm code
        self._app = None
        self.profile_changes = []
        self.sessions = [{"t_s": 0.0, "session": self.app.pen.session}]
        self._profile = self.app.pen.profile.name
        self.start_profile = self._profile  # what the pen's flash gave it at the first boot
        self._session = self.app.pen.session
        self.cartridges = []  # each new cartridge the pen took
        self.low_gas_warnings = []  # each time the low-gas warning began
        self._mode_held = False  # the mode button as the scenario holds it
        self._gesture_end_ms = -1  # a cartridge gesture holds mode until then

    def run(self, until=None):
        """Runs the scenario to its duration_s. until(sim, t_ms), if given, is called
        after each tick (its physics done); a true return ends the run after that tick,
        as if the scenario ended there: an application still open ends "running", and
        the summary's duration_s stays the scenario's. The Monte Carlo ends each sample
        shortly after its application (host_tools/sim/montecarlo.py)."""
        events = list(self.sc.events)
        n_events = len(events)
        next_ms = events[0].t_s * 1000 if events else None
        ticks = int(round(self.sc.duration_s * 1000)) // _DT_MS
        ev = 0
        hal = self.hal
        screens = self.screens
        record = self.record
        t_ms = 0
        for k in range(ticks + 1):
            t_ms = k * _DT_MS
            while next_ms is not None and next_ms <= t_ms + 1e-6:
                self._apply(events[ev], t_ms)
                ev += 1
                next_ms = events[ev].t_s * 1000 if ev < n_events else None
            if self._gesture_end_ms >= 0 and self._gesture_end_ms <= t_ms:
                self._gesture_end_ms = -1
                hal.mode_down = self._mode_held
            if self.powered and t_ms >= self.hang_until_ms:
                hal.hang = None
                self._observe(t_ms, self.app.step())
            if screens is not None:
                screens.capture(t_ms, self.powered)
            if record:
                self._record(t_ms)
            self._physics(t_ms)
            if until is not None and until(self, t_ms):
                break
        if self._app is not None:
            self._close_app(t_ms, "running")
        return Result(self.sc, self.trace, self._summary())

    def _apply(self, e, t_ms):
        hal = self.hal
        if e.action == "trigger":
            hal.pressed = e.value
        elif e.action == "mode":
            hal.mode_down = self._mode_held = e.value
        elif e.action == "cartridge":
            self.plant.new_cartridge()
            if self.powered:  # the clinician declares it: mode held, reset pressed
                hal.mode_down = True
                hal.reset_pending = True
                self._gesture_end_ms = t_ms + CARTRIDGE_GESTURE_MS
        elif e.action == "reset":
            hal.reset_pending = True
        elif e.action == "contact":
            self.plant.contact = e.value
        elif e.action == "tilted":
            self.plant.tilted = e.value
        elif e.action == "fault" and e.value == "loop_hang":
            self.hang_until_ms = t_ms + int(round(e.for_s * 1000))
            hal.hang = e.where
        elif e.action == "fault":
            hal.inject(e.value, e.sensor, e.offset_c)
        elif e.action == "clear" and e.value == "loop_hang":
            self.hang_until_ms = -1
        elif e.action == "power":
            self._power(e.value, t_ms)
        else:
            hal.clear(e.value, e.sensor)

    def _physics(self, t_ms):
        hal = self.hal
        plant = self.plant
        flows = hal.valve_open and hal.master_open  # hal.gas_flows
        plant.step(_DT_S, flows)
        if flows:
            self.open_run_ms += _DT_MS
            self.open_total_ms += _DT_MS
            if self.open_run_ms > self.max_open_ms:
                self.max_open_ms = self.open_run_ms
        else:
            self.open_run_ms = 0
        tip_c = plant.tip_c
        if tip_c < self.min_tip_c:
            self.min_tip_c = tip_c
        self._skin_c = skin_c = tip_c if plant.contact else plant.skin_c
        if skin_c < self.min_skin_c:
            self.min_skin_c = skin_c
        if plant.tissue.steps != self._tissue_steps:
            self._skin_readouts()
        fired = hal.backstop_fired
        expired = hal.enable_expired
        hal.advance(_DT_MS)
        if hal.backstop_fired and not fired:
            self.hardware.append({"t_s": hal.t_ms / 1000.0, "event": "backstop_fired"})
        if hal.enable_expired and not expired:
            self.hardware.append({"t_s": hal.t_ms / 1000.0, "event": "enable_expired"})
        if hal.wdt_expired:
            self.hardware.append({"t_s": hal.t_ms / 1000.0, "event": "watchdog_reset"})
            self._reboot(t_ms + _DT_MS)

    # --- the skin: its readouts change once per tissue step (docs/PLANT.md) -------------
    def _lethal_from(self, profile):
        """The profile's lethal temperature for lethal_mm, else the plant's lethal_c."""
        lethal_cc = getattr(profile, "lethal_cc", None)
        self.plant.lethal_c = self._plant_lethal_c if lethal_cc is None else lethal_cc / 100.0

    def _skin_readouts(self):
        """After each tissue step: the readouts the trace shows, the run's extremes, and
        the application's (the last to start: the cold it left stays its own)."""
        tissue = self.plant.tissue
        self._tissue_steps = tissue.steps
        basal_c, ice_mm, lethal_mm = tissue.basal_c, tissue.ice_mm, tissue.lethal_mm
        if self._tissue_steps <= 0:
            self.min_basal_c, self.max_ice_mm, self.max_lethal_mm = basal_c, ice_mm, lethal_mm
        else:
            below_s = _time_below(self._readouts[0], basal_c, tissue.step_s, BASAL_DAMAGE_C)
            self.min_basal_c = min(self.min_basal_c, basal_c)
            self.max_ice_mm = max(self.max_ice_mm, ice_mm)
            self.max_lethal_mm = max(self.max_lethal_mm, lethal_mm)
            d = self._dose
            if d is not None:
                d["basal_below_minus5_s"] += below_s
                d["min_basal_c"] = min(d["min_basal_c"], basal_c)
                d["max_ice_mm"] = max(d["max_ice_mm"], ice_mm)
                d["max_lethal_mm"] = max(d["max_lethal_mm"], lethal_mm)
        self._readouts = (basal_c, ice_mm, lethal_mm)

    def _start_dose(self, app):
        basal_c, ice_mm, lethal_mm = self._readouts
        app.update({"lethal_c": self.plant.lethal_c, "min_basal_c": basal_c,
                    "max_ice_mm": ice_mm, "max_lethal_mm": lethal_mm,
                    "basal_below_minus5_s": 0.0})
        self._dose = app

    def _boot(self, t_ms, cause):
        """The device's boot path: the HAL's reset state, the stored state, the pen."""
        hal = self.hal
        hal.restart()
        hal.watchdog_reset = cause == record_mod.CAUSE_WATCHDOG
        now = hal.now_ms()
        if self.make_pen is None:
            # The scenario's profile stands in for the board's default: the factory
            # configuration starts in it. What the pen offers comes from its flash.
            started = startup.start(self.board, self.sc.profile, self.storage, now, cause)
            self.app = App(hal, started.pen, self.storage, started.journal,
                           started.record_ok, started.clinic)
            cold = started.cold_start
        else:
            self.app = App(hal, self.make_pen(self.board, self.sc.profile, now,
                                              hal.watchdog_reset))
            cold = False
        if self.screens is not None:  # the driver sets the panel up again at every boot
            self.app.display = self.screens.display()
        self._cartridges_seen = 0  # the new pen's count starts again
        self._low_gas = False
        hal.start_watchdog(self.board.WDT_MS)
        self.boots.append({"t_s": t_ms / 1000.0, "cause": record_mod.CAUSE_NAMES[cause],
                           "cold_start": cold})

    def _store_config(self):
        """The scenario's clinic configuration on the pen's flash before its first boot,
        as a clinic's tool stores it, or damaged as "stored_config" asks."""
        sc = self.sc
        if sc.stored_config == "kept" or sc.config is None:
            return
        d = sc.config
        if sc.stored_config == "invalid":  # as from a firmware with a profile this one lacks
            d = dict(d, profiles=list(d["profiles"]) + ["retired"])
        try:
            seq = config_mod.choose(self.storage.config_copies()).seq + 1
        except (AttributeError, config_mod.ConfigError, OSError):  # none, or none readable
            seq = 1
        self.storage.save_config(config_mod.encode(d, seq))
        if sc.stored_config == "corrupt":
            fs = self.storage.fs
            for name in CONFIG_FILES:
                with fs.open("/" + name, "rb") as f:
                    data = bytearray(f.read())
                data[config_mod.HEAD_SIZE] ^= 0x20  # the body's first byte: the CRC fails
                with fs.open("/" + name, "wb") as f:
                    f.write(bytes(data))

    def _reboot(self, t_ms):
        """A watchdog reset: the MCU restarts, the loop runs again, the pen boots in FAULT."""
        self.reboots += 1
        self.hang_until_ms = -1
        self._boot(t_ms, record_mod.CAUSE_WATCHDOG)
        if self._app is not None:
            self._close_app(t_ms, "watchdog_reset")

    def _power(self, on, t_ms):
        """Power lost: both normally-closed valves close and RAM is gone. Power back:
        the pen boots from its stored state."""
        if on == self.powered:
            return
        self.powered = on
        if not on:
            self.hal.restart()
            self.hal.wdt_ms = None  # no watchdog without power
            self.hang_until_ms = -1
            self.app.pen.out = pen_mod.Outputs()  # nothing commanded, nothing shown
            if self._app is not None:
                self._close_app(t_ms, "power_lost")
        else:
            self._boot(t_ms, record_mod.CAUSE_POWER)

    def _observe(self, t_ms, out):
        pen = self.app.pen
        if pen.profile.name != self._profile:
            self.profile_changes.append({"t_s": t_ms / 1000.0, "from": self._profile,
                                         "to": pen.profile.name})
            self._profile = pen.profile.name
            self._lethal_from(pen.profile)
        if pen.session != self._session:
            self._session = pen.session
            self.sessions.append({"t_s": t_ms / 1000.0, "session": pen.session})
        if out.state == states.TREATING and self._app is None:
            self._app = {"start_s": t_ms / 1000.0, "profile": pen.profile.name}
            self._start_dose(self._app)
        elif out.state != states.TREATING and self._app is not None:
            self._close_app(t_ms, states.END_NAMES[out.end_reason])
        if out.fault != self._fault_bits:
            for name in alarms.names(out.fault & ~self._fault_bits):
                self.faults.append({"t_s": t_ms / 1000.0, "name": name})
            self._fault_bits = out.fault
        if out.alarm != self._alarm:  # a name, once seen, stays in the list
            self._alarm = out.alarm
            name = alarms.name_of(out.alarm)
            if name and name not in self.alarms_seen:
                self.alarms_seen.append(name)
        self._gauge(t_ms, pen, out)

    def _gauge(self, t_ms, pen, out):
        """New cartridges the pen took, and each time its low-gas warning began (the
        open-loop pen has neither)."""
        cartridges = getattr(pen, "cartridges", 0)
        if cartridges != self._cartridges_seen:
            self._cartridges_seen = cartridges
            self.cartridges.append({"t_s": t_ms / 1000.0})
        low = getattr(pen, "low_gas", False)
        if low and not self._low_gas:
            self.low_gas_warnings.append({"t_s": t_ms / 1000.0,
                                          "gas_left_est_g": _grams(out.gas_left_mg)})
        self._low_gas = low

    def _close_app(self, t_ms, reason):
        a = self._app
        a["end_s"] = t_ms / 1000.0
        a["duration_s"] = round(a["end_s"] - a["start_s"], 3)
        a["end_reason"] = reason
        self.apps.append(a)
        self._app = None

    def _record(self, t_ms):
        hal = self.hal
        out = self.app.pen.out
        self.trace.append((
            t_ms / 1000.0, out.state, int(hal.pressed), int(out.valve), int(hal.valve_open),
            self.plant.tip_c, out.temp1_cc / 100.0, out.target_cc / 100.0, out.alarm, out.fault,
            self.plant.gas_used_g, out.beep, hal.tone_hz, int(hal.led_on), out.duty,
            int(self.plant.contact), out.applications, out.end_reason, int(out.master),
            int(hal.master_open), out.temp2_cc / 100.0, self.app.pen.profile.name,
            self.app.pen.session, _grams(out.gas_left_mg), self._skin_c) + self._readouts)

    def _summary(self):
        pen = self.app.pen
        for a in self.apps:
            if "min_basal_c" in a:
                for key, digits in _APP_DOSE_DIGITS:
                    a[key] = round(a[key], digits)
        return {
            "scenario": self.sc.name,
            "profile": self.start_profile,
            "board": self.board.NAME,
            "duration_s": self.sc.duration_s,
            "applications": self.apps,
            "gas_used_g": round(self.plant.gas_used_g, 4),
            "gas_left_g": round(self.plant.gas_left_g, 4),
            "faults": self.faults,
            "alarms": self.alarms_seen,
            "final_state": states.STATE_NAMES[pen.out.state],
            "max_valve_open_s": self.max_open_ms / 1000.0,
            "valve_open_total_s": self.open_total_ms / 1000.0,
            "min_tip_c": round(self.min_tip_c, 2),
            "exceptions": pen.exceptions,
            "reboots": self.reboots,
            "hardware_events": self.hardware,
            "boots": self.boots,
            "sessions": self.sessions,
            "profile_changes": self.profile_changes,
            "gas_left_est_g": _grams(pen.out.gas_left_mg),
            "low_gas_warnings": self.low_gas_warnings,
            "cartridges": self.cartridges,
            "min_skin_c": round(self.min_skin_c, 2),
            "min_basal_c": round(self.min_basal_c, 2),
            "max_ice_mm": round(self.max_ice_mm, 3),
            "max_lethal_mm": round(self.max_lethal_mm, 3),
        }


_APP_DOSE_DIGITS = (("min_basal_c", 2), ("max_ice_mm", 3), ("max_lethal_mm", 3),
                    ("basal_below_minus5_s", 2))


def _time_below(before, after, seconds, threshold):
    """How long a quantity that went linearly from before to after over seconds spent
    below threshold."""
    if before >= threshold and after >= threshold:
        return 0.0
    if before < threshold and after < threshold:
        return seconds
    return seconds * (threshold - min(before, after)) / abs(after - before)


def _grams(mg):
    """The pen's gauge in grams; None while it does not know the cartridge."""
    return None if mg < 0 else mg / 1000.0


def run(scenario, **kw):
    return Simulation(scenario, **kw).run()
