"""The device boot sequence, in this order:

1. construct the HAL, which drives the valve pins low before anything else;
2. reserve the emergency exception buffer, so an error in the backstop's hard
   interrupt still reports a traceback;
3. read whether the watchdog caused this reset (latches F_WATCHDOG in the pen);
4. self-test the backstop timer; a failure latches F_BACKSTOP and the HAL keeps
   the valves locked closed;
5. build the pen (the thermistor table is float work that takes a while on an
   RP2040), then start the watchdog, so that a slow build cannot starve it into
   a reset loop; nothing can open the valve until the loop runs;
6. run the 100 Hz loop. Whatever ends it, Ctrl-C from mpremote included, closes
   the valves on the way out (App.run's finally). The watchdog cannot be
   stopped: at the prompt after Ctrl-C it resets the pen within WDT_MS.

Service mode: with the reset button held at power-up, boot() stops after step 1:
valves closed, no loop, no watchdog, the REPL free for mpremote (flashing).

Before all this the board's boot.py has driven the valve pins low already. The
pen's logic (firmware.pen and what it imports) loads only after step 1; the few
constants modules the HAL needs load before it.
"""
from hal.machine_hal import MachineHal

_EMERGENCY_BUF_BYTES = 100
_DEFAULT_PROFILE = "moderate"


def boot(board, machine_=None, time_=None, micropython_=None):
    """Runs the pen; returns only in service mode or by an exception. The optional arguments are
    stand-ins for the `machine`, `time` and `micropython` modules, for tests."""
    hal = MachineHal(board, machine_, time_)
    if hal.service_requested():
        print("cryopen: service mode, valves closed; power-cycle to treat")
        return
    if micropython_ is None:
        import micropython
    else:
        micropython = micropython_
    micropython.alloc_emergency_exception_buf(_EMERGENCY_BUF_BYTES)
    watchdog_reset = hal.reset_cause_watchdog()
    backstop_ok = hal.backstop_selftest()
    from firmware import pen, profiles
    from firmware.app import App

    profile = profiles.builtin(getattr(board, "DEFAULT_PROFILE", _DEFAULT_PROFILE))
    the_pen = pen.build(board, profile, hal.now_ms(), watchdog_reset, not backstop_ok)
    hal.start_watchdog(board.WDT_MS)
    App(hal, the_pen).run()
