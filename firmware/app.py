"""The imperative shell around the pen: read the HAL, tick the pen, drive the HAL.

The same App runs on the device (hal.machine_hal), in the simulator and in the
tests (hal.fake). Anything that raises here closes the valve first.
"""
from firmware import alarms, buttons, journal as journal_mod, limits, record
from firmware.compat import const, ticks_add, ticks_diff


_NO_RECORD_ALARM = alarms.worst(alarms.F_NO_RECORD)
# The display's slice starts no later than this into the tick's period: its worst, a
# page whose bus times out (hal/display.py, under 5.5 ms), still ends before the next tick.
_DISPLAY_START_MS = const(3)


class App:
    def __init__(self, hal, pen, storage=None, journal=None, record_ok=True, clinic=None,
                 display=None, link=None):
        """storage and journal: the pen's flash (hal/storage.py) and what to write
        to it (firmware/journal.py); both None on a pen that keeps no record.
        record_ok False: the flash failed at boot (firmware/startup.py). clinic: the
        clinic configuration (firmware/startup.py, Clinic), None on a pen without one.
        display: the OLED (hal/display.py), None on a pen without one. link: the host
        link (hal/link.py), None on a pen without one."""
        self.hal = hal
        self.pen = pen
        self.storage = storage
        self.journal = journal
        self.write_errors = 0
        # Without a working record the pen treats only once the clinician has accepted
        # that, with a press of reset while the pen says so; until the next boot.
        self.record_ok = record_ok
        self.without_record = False
        self.mode = buttons.ModeButton()
        self.clinic = clinic
        self.display = display
        self.display_off_noted = False  # its failure goes into the record once
        self.link = link

    def step(self):
        hal = self.hal
        try:
            now = hal.now_ms()
            bits = hal.conditions()
            if not (self.record_ok or self.without_record):
                bits |= alarms.F_NO_RECORD
            mode_down = hal.mode()
            reset = hal.reset_pressed()
            clinic = self.clinic
            refused = clinic.refused() if clinic is not None else 0
            if refused:
                # No clinic configuration or no sensor calibration in force: nothing
                # treats until one is, by the restore gesture here or the host link
                # (firmware/startup.py, Clinic and TipCalibration).
                bits |= refused
                if clinic.watch(now, mode_down, reset, self.pen):
                    reset = False
                    self.mode.consume()
                    bits &= ~(refused & ~clinic.refused())  # what the gesture restored
            if reset:
                if mode_down:
                    # Reset pressed with mode held: a new cartridge (docs/DESIGN.md, "The
                    # cartridge gauge"). The mode press is spent on it: no profile, no session.
                    self.mode.consume()
                    self.pen.new_cartridge(now)
                elif bits & alarms.F_NO_RECORD and self.pen.out.alarm == _NO_RECORD_ALARM:
                    # Accepted at the pen while it says so, and only that.
                    self.without_record = True
                    bits &= ~alarms.F_NO_RECORD
                else:
                    self.pen.reset(now)
            gesture = self.mode.update(now, mode_down)
            if gesture == buttons.SHORT and self.link is not None and self.link.confirm(now):
                gesture = buttons.NONE  # it confirmed what the host asked, and does nothing else
            if gesture == buttons.SHORT:
                self.pen.next_profile(now)
            elif gesture == buttons.LONG and not refused:  # the restore gesture holds mode
                self.pen.new_session(now)
            out = self.pen.tick(now, hal.read_tip(), hal.read_tip2(), hal.trigger(), bits)
            hal.valve(out.valve, out.backstop_ms)
            hal.master(out.master)
            hal.tone(out.tone_hz)
            hal.led(out.led)
            if out.healthy:  # the supervisor ran to the end of its tick
                hal.feed_watchdog()
            wrote = False
            if self.journal is not None:
                wrote = self._keep(now, out)
            if self.display is not None and not wrote:  # one slow job per period at most
                self._show(now)
            return out
        except Exception:  # the HAL raised: close first, then latch with the last tick's time
            hal.close_valves()
            self.pen.fail_closed(self.pen.last_ms)
            return self.pen.out

    def _keep(self, now, out):
        """Between ticks: note what happened, and write one entry to flash, only with
        both valves closed (a flash write stalls the CPU; it must never extend gas)."""
        journal = self.journal
        journal.observe(now, self.pen, out)
        if journal.queue and not out.valve and not out.master:
            what, payload = journal.queue.pop(0)
            try:
                if what == journal_mod.STATE:
                    self.storage.save_state(payload)
                else:
                    self.storage.append(payload)
            except OSError:
                self.write_errors += 1  # this entry is lost; no treatment until accepted
                self.record_ok = False
            return True
        return False

    def _show(self, now):
        """Between ticks: one bounded slice of the display's work (hal/display.py),
        started only early in the period, so that even a bus that times out ends it
        before the next tick, which may close a valve: the display can never keep a
        valve open longer than the tick commanded. Its errors never reach the valves."""
        if ticks_diff(self.hal.now_ms(), now) > _DISPLAY_START_MS:
            return
        display = self.display
        display.step(now, self.pen)
        if not display.on and not self.display_off_noted:  # off for this boot: noted once
            self.display_off_noted = True
            if self.journal is not None:
                self.journal.change(now, record.CHANGE_DISPLAY, display.error)

    def run(self):
        """The device loop: 100 Hz on a drift-free schedule. Never returns normally."""
        hal = self.hal
        deadline = hal.now_ms()
        try:
            while True:
                self.step()
                deadline = ticks_add(deadline, limits.TICK_MS)
                if self.link is not None:  # what is left of the period, never past its end
                    self.link.serve(deadline)
                wait = ticks_diff(deadline, hal.now_ms())
                if wait > 0:
                    hal.sleep_ms(wait)
                elif wait < -limits.TICK_MS:  # overran by a whole tick: re-anchor, never burst
                    deadline = hal.now_ms()
        finally:
            hal.close_valves()


