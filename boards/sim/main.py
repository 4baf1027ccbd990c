# main.py of the virtual pen (`cryopen virtual-pen`), run at every power-up and
# machine.reset(): the device's gate (hal.boot.gate: service mode, then the
# integrity check of the deployed files, and the alarm when they fail it) on the
# virtual pen's reset button and buzzer. The virtual pen's `machine` comes from
# host_tools/pens/virtual_pen_bridge.mjs, with the pins named as a board's pins.csv
# names them. A pen that passes the gate runs its firmware under --run
# (boards/sim/virtual_hal.py); otherwise it says so and leaves the REPL to the
# tests, which drive the pen's loop on hal.fake.
import time

import machine

from boards.sim import board
from hal.boot import gate


class VirtualPenHal:
    """What the gate needs of a HAL: the reset button, the buzzer, the LED, the clock."""

    def __init__(self):
        pin = machine.Pin
        self._reset = pin("RESET", pin.IN, pin.PULL_UP)
        self._buzzer = machine.PWM(pin("BUZZER", pin.OUT, value=0), freq=1000, duty_u16=0)
        self._led = pin("LED", pin.OUT, value=0)

    def service_requested(self):
        return self._reset.value() == 0

    def close_valves(self):
        pass  # the virtual pen has no valves: hal.fake models them for the tests

    def tone(self, hz):
        if hz:
            self._buzzer.freq(hz)
        self._buzzer.duty_u16(32768 if hz else 0)

    def led(self, on):
        self._led.value(1 if on else 0)

    def now_ms(self):
        return time.ticks_ms()

    def sleep_ms(self, ms):
        # machine.idle() returns at the next interrupt; Ctrl-C from the host raises there.
        deadline = time.ticks_add(time.ticks_ms(), ms)
        while time.ticks_diff(deadline, time.ticks_ms()) > 0:
            machine.idle()


if gate(VirtualPenHal(), board):
    import _virtual_pen as host

    if host.running():  # cryopen virtual-pen --run: the firmware, as on a board
        from boards.sim.virtual_hal import NoInterrupts, RunningHal, VirtualSerial
        from hal import boot

        boot.run(board, RunningHal(board, host), NoInterrupts(), port=VirtualSerial(host))
    print("cryopen: integrity check passed; the virtual pen is ready")
