"""The virtual pen's HAL under `cryopen virtual-pen --run`: hal.fake's model of
the hardware (sensor conversion, the backstop timer, the monostable, the
watchdog), with the tip temperature, the buttons and the contact coming from the
physical model on the host, exchanged once a tick through the bridge
(host_tools/pens/virtual_pen_bridge.mjs), and the clock paced by real time.

Time: the firmware's clock is the fake's, which moves TICK_MS at each sleep of
the loop; each sleep also waits until the real time of that tick (divided by the
speed the host asked for), so the pen keeps real time while a tick costs less
than its share. A slower interpreter makes the pen slower than real time, never
its ticks shorter.
"""
import time

import machine

from hal.fake import FakeHal

_WDT_RESET = 3  # machine.WDT_RESET on the virtual pen (the bridge's numbering)


class HostPlant:
    """The plant as the fake reads it: what the host reported at the last exchange."""

    def __init__(self):
        self.tip_c = 20.0
        self.handle_c = 20.0
        self.beads = [20.0, 20.0]  # what each sensor's bead reads (the model's part tolerances)

    def bead_c(self, sensor):
        return self.beads[sensor - 1]

    def empty_cartridge(self):
        pass  # the cartridge is the host's: the scenario there empties it


class RunningHal(FakeHal):
    def __init__(self, board, host):
        FakeHal.__init__(self, board, HostPlant())
        self._host = host
        self._speed = max(1, int(host.speed()))
        self._real_us = time.ticks_us()
        self._exchange(0)

    def sleep_ms(self, ms):
        self._real_us = time.ticks_add(self._real_us, ms * 1000 // self._speed)
        while time.ticks_diff(self._real_us, time.ticks_us()) > 0:
            machine.idle()
        self._exchange(ms)
        self.advance(ms)
        if self.wdt_expired:  # the watchdog resets the MCU: the bridge powers it up again
            self._host.reset(_WDT_RESET)
            raise SystemExit

    def _exchange(self, ms):
        """The plant moves ms with the gas as the valves let it; the host answers with
        the tip and handle temperatures, what the clinician's hands do, and what each
        sensor's bead reads."""
        reply = self._host.plant("%d %d" % (ms, 1 if self.gas_flows else 0)).split()
        plant = self.plant
        plant.tip_c = float(reply[0])
        plant.handle_c = float(reply[1])
        self.pressed = reply[2] == "1"
        self.mode_down = reply[3] == "1"
        if reply[4] == "1":
            self.reset_pending = True
        plant.beads[0] = float(reply[5])
        plant.beads[1] = float(reply[6])

    def reboot(self):
        """A deliberate reset, as machine.reset() on a board: the bridge powers the pen
        up again on its files (hal.boot.service_reboot's flag among them)."""
        self.close_valves()
        machine.reset()

    def backstop_selftest(self):
        return True  # the fake's backstop timer and monostable are models, not parts to test

    def reset_cause_watchdog(self):
        return self._host.reset_cause() == _WDT_RESET


class VirtualSerial:
    """The pen's serial line on the bridge, as hal/link.py takes a port: bytes the host
    sent, fetched a few at a time and never waited for; writes the bridge buffers,
    so they never wait either."""

    write_may_wait = False

    def __init__(self, host):
        self._host = host
        self._in = b""
        self._at = 0

    def read_byte(self):
        if self._at >= len(self._in):
            import binascii

            self._in = binascii.unhexlify(self._host.serial_read(64))
            self._at = 0
            if not self._in:
                return -1
        self._at += 1
        return self._in[self._at - 1]

    def write(self, buf):
        import binascii

        return self._host.serial_write(binascii.hexlify(buf).decode())

    def close(self):
        pass


class NoInterrupts:
    """`micropython` as hal.boot.run uses it: the WebAssembly port runs no interrupt
    handlers, so it keeps no emergency buffer for their exceptions."""

    def alloc_emergency_exception_buf(self, size):
        pass
