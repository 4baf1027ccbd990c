"""The device boot sequence, in this order:

1. construct the HAL, which drives the valve pins low before anything else;
2. reserve the emergency exception buffer, so an error in the backstop's hard
   interrupt still reports a traceback;
3. read whether the watchdog caused this reset (latches F_WATCHDOG in the pen):
   a timeout of our watchdog only, never a deliberate reset (on rp2 this reads
   the marker the watchdog's start writes, so it comes before step 5);
4. self-test both backstops with the valves closed: the timer's callback, and
   the board's monostable falling while the CPU waits in C with interrupts
   masked; a failure latches F_BACKSTOP and the HAL keeps both valves locked
   closed;
5. build the pen (the thermistor table is float work that takes a while on an
   RP2040), then start the watchdog, so that a slow build cannot starve it into
   a reset loop; nothing can open the valve until the loop runs;
6. run the 100 Hz loop. Whatever ends it, Ctrl-C from mpremote included, closes
   the valves on the way out (App.run's finally). The watchdog cannot be
   stopped: at the prompt after Ctrl-C it resets the pen within WDT_MS.

Service mode: with the reset button held at power-up, boot() stops after step 1:
valves closed, no loop, no watchdog, the REPL free for mpremote (flashing).
Otherwise the start-up integrity check (hal/integrity.py) runs right after step
1: a firmware that is not the deployed one, complete, keeps the valves closed and
sounds the high-priority alarm until Ctrl-C, with no loop and no watchdog.

Before all this the board's boot.py has driven the valve pins low already. The
pen's logic (firmware.pen and what it imports) loads only after step 1; the few
constants modules the HAL needs load before it.
"""
_EMERGENCY_BUF_BYTES = 100
# How this run's boot ended: "service", "refused" (the integrity check failed) or
# "run". `cryopen deploy` reads it over the REPL without a soft reset, which would
# clear it (docs/DESIGN.md, "Deploying").
MODE = ""
_DEFAULT_PROFILE = "moderate"
FLASH_ROOT = "/"  # where the state and the treatment record live (hal/storage.py)


def boot(board, machine_=None, time_=None, micropython_=None):
    """Runs the pen; returns only in service mode, after a failed integrity check, or by an
    exception. The optional arguments are stand-ins for the `machine`, `time` and `micropython`
    modules, for tests."""
    from hal.machine_hal import MachineHal  # here: the virtual pen imports gate() without it

    hal = MachineHal(board, machine_, time_)
    if not gate(hal, board):
        return
    if micropython_ is None:
        import micropython
    else:
        micropython = micropython_
    micropython.alloc_emergency_exception_buf(_EMERGENCY_BUF_BYTES)
    watchdog_reset = hal.reset_cause_watchdog()
    backstop_ok = hal.backstop_selftest()
    import os

    from firmware import profiles, record, startup
    from firmware.app import App
    from hal.storage import OsFs, Storage

    profile = profiles.builtin(getattr(board, "DEFAULT_PROFILE", _DEFAULT_PROFILE))
    storage = Storage(OsFs(os, open), FLASH_ROOT)
    cause = record.CAUSE_POWER
    if watchdog_reset:
        cause = record.CAUSE_WATCHDOG
    elif hal.reset_cause_deliberate():
        cause = record.CAUSE_DELIBERATE
    started = startup.start(board, profile, storage, hal.now_ms(), cause, not backstop_ok)
    if started.cold_start:
        print("cryopen: no valid stored state: cold start")
    hal.start_watchdog(board.WDT_MS)
    App(hal, started.pen, storage, started.journal, started.record_ok).run()


def gate(hal, board):
    """Service mode, then the start-up integrity check, between the HAL (valves
    closed) and anything that can open a valve. True when the pen may go on to
    treat. Service mode comes first and needs nothing but this module, so a pen
    whose files are damaged can still be put into service mode and deployed."""
    global MODE
    if hal.service_requested():
        MODE = "service"
        print("cryopen: service mode, valves closed; power-cycle to treat")
        return False
    from hal import integrity

    problem = integrity.check(board)
    if problem is not None:
        MODE = "refused"
        integrity.refuse(hal, problem)
        return False
    MODE = "run"
    return True
