"""The imperative shell around the pen: read the HAL, tick the pen, drive the HAL.

The same App runs on the device (hal.machine_hal), in the simulator and in the
tests (hal.fake). Anything that raises here closes the valve first.
"""
from firmware import alarms, buttons, journal as journal_mod, limits
from firmware.compat import ticks_add, ticks_diff


_NO_RECORD_ALARM = alarms.worst(alarms.F_NO_RECORD)


class App:
    def __init__(self, hal, pen, storage=None, journal=None, record_ok=True):
        """storage and journal: the pen's flash (hal/storage.py) and what to write
        to it (firmware/journal.py); both None on a pen that keeps no record.
        record_ok False: the flash failed at boot (firmware/startup.py)."""
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

    def step(self):
        hal = self.hal
        try:
            now = hal.now_ms()
            bits = hal.conditions()
            if not (self.record_ok or self.without_record):
                bits |= alarms.F_NO_RECORD
            if hal.reset_pressed():
                if bits & alarms.F_NO_RECORD and self.pen.out.alarm == _NO_RECORD_ALARM:
                    # Accepted at the pen while it says so, and only that.
                    self.without_record = True
                    bits &= ~alarms.F_NO_RECORD
                else:
                    self.pen.reset(now)
            gesture = self.mode.update(now, hal.mode())
            if gesture == buttons.SHORT:
                self.pen.next_profile(now)
            elif gesture == buttons.LONG:
                self.pen.new_session(now)
            out = self.pen.tick(now, hal.read_tip(), hal.read_tip2(), hal.trigger(), bits)
            hal.valve(out.valve, out.backstop_ms)
            hal.master(out.master)
            hal.tone(out.tone_hz)
            hal.led(out.led)
            if out.healthy:  # the supervisor ran to the end of its tick
                hal.feed_watchdog()
            if self.journal is not None:
                self._keep(now, out)
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

    def run(self):
        """The device loop: 100 Hz on a drift-free schedule. Never returns normally."""
        hal = self.hal
        deadline = hal.now_ms()
        try:
            while True:
                self.step()
                deadline = ticks_add(deadline, limits.TICK_MS)
                wait = ticks_diff(deadline, hal.now_ms())
                if wait > 0:
                    hal.sleep_ms(wait)
                elif wait < -limits.TICK_MS:  # overran by a whole tick: re-anchor, never burst
                    deadline = hal.now_ms()
        finally:
            hal.close_valves()


