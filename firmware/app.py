"""The imperative shell around the pen: read the HAL, tick the pen, drive the HAL.

The same App runs on the device (hal.machine_hal), in the simulator and in the
tests (hal.fake). Anything that raises here closes the valve first.
"""
from firmware import limits
from firmware.compat import ticks_add, ticks_diff


class App:
    def __init__(self, hal, pen):
        self.hal = hal
        self.pen = pen

    def step(self):
        hal = self.hal
        try:
            now = hal.now_ms()
            if hal.reset_pressed():
                self.pen.reset(now)
            out = self.pen.tick(now, hal.read_tip(), hal.trigger(), hal.conditions())
            hal.valve(out.valve, out.backstop_ms)
            hal.master(out.master)
            hal.tone(out.tone_hz)
            hal.led(out.led)
            if out.healthy:  # the supervisor ran to the end of its tick
                hal.feed_watchdog()
            return out
        except Exception:  # the HAL raised: close first, then latch with the last tick's time
            hal.close_valves()
            self.pen.fail_closed(self.pen.last_ms)
            return self.pen.out

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


