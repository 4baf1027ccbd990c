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
5. read the clinic configuration, the sensors' calibration and the stored state
   and build the pen (firmware/startup.py; a refused configuration or
   calibration is printed and the pen never treats; the thermistor tables are
   float work that takes a while on an
   RP2040), then start the watchdog, so that a slow build cannot starve it into
   a reset loop; nothing can open the valve until the loop runs;
6. run the 100 Hz loop. Whatever ends it, Ctrl-C from mpremote included, closes
   the valves on the way out (App.run's finally). The watchdog cannot be
   stopped: at the prompt after Ctrl-C it resets the pen within WDT_MS.

Service mode: with the reset button held at power-up, or at the one power-up
after a confirmed `service` on the host link (SERVICE_FLAG), boot() stops after
step 1: valves closed, no loop, no watchdog, the REPL free for mpremote (flashing).
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
FLASH_ROOT = "/"  # the state, clinic configuration and treatment record (hal/storage.py)
# Under FLASH_ROOT: written by a confirmed `service` on the host link, removed by the next
# power-up's gate, which then stops in service mode (once).
SERVICE_FLAG = "cryopen_service"


def boot(board, machine_=None, time_=None, micropython_=None, select_=None, sys_=None):
    """Runs the pen; returns only in service mode, after a failed integrity check, or by an
    exception. The optional arguments are stand-ins for the `machine`, `time`, `micropython`,
    `select` and `sys` modules, for tests."""
    from hal.machine_hal import MachineHal  # here: the virtual pen imports gate() without it

    hal = MachineHal(board, machine_, time_)
    if gate(hal, board):
        from hal import display

        # The board's OLED, if it declares one; one that fails is off, and the pen
        # treats on (hal/display.py). Set up here, before the watchdog starts.
        from hal import link

        # The host link on the board's USB serial (hal/link.py).
        port = link.UsbStdio(board.PORT, select_, sys_, micropython_)
        run(board, hal, micropython_, display.from_board(board, machine_), port)


def run(board, hal, micropython_=None, display=None, port=None):
    """From a HAL past the gate to the pen's loop, which never returns: the reset
    cause, the backstop's self-test, the stored state, the watchdog, the host link.
    The virtual pen (boards/sim/main.py) runs the firmware through here too.
    display: the OLED (hal/display.py), or None. port: the host link's serial
    (hal/link.py)."""
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
    if started.clinic.problem is not None:
        print("cryopen: %s; not treating (config_invalid); to restore the factory configuration "
              "hold mode 5 s, then press reset 3 times" % started.clinic.problem)
    tips = started.clinic.calibration
    if tips.problem is not None:
        print("cryopen: %s; not treating (calibration_invalid); to restore the board's curve "
              "hold mode 5 s, then press reset 3 times, or confirm a calibration set from the "
              "host link" % tips.problem)
    from firmware.protocol import Protocol
    from hal import link

    reboot = getattr(hal, "reboot", None)
    proto = Protocol(started.pen, board, info=link.device_info(started.journal, cause),
                     records=link.PenRecords(storage), clock=link.wall_clock(started.journal),
                     save=link.changes(started.journal, tips.keep),
                     service=service_reboot(reboot) if reboot is not None else None,
                     clinic=started.clinic, calibration=tips.in_force)
    hal.start_watchdog(board.WDT_MS)
    App(hal, started.pen, storage, started.journal, started.record_ok, started.clinic,
        display, link.Link(port, proto, hal.now_ms)).run()


def gate(hal, board):
    """Service mode, then the start-up integrity check, between the HAL (valves
    closed) and anything that can open a valve. True when the pen may go on to
    treat. Service mode comes first and needs nothing but this module, so a pen
    whose files are damaged can still be put into service mode and deployed."""
    global MODE
    asked = _take_service_flag()  # taken whatever the button says: it holds for one power-up
    if asked or hal.service_requested():
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


def _take_service_flag():
    """Whether the host link asked for service mode at this power-up (service_reboot):
    the flag is removed as it is read, so the power-up after this one treats. A flag
    that cannot be removed is not taken: a pen never stays in service mode on its own."""
    import os

    try:
        os.remove(FLASH_ROOT + SERVICE_FLAG)
    except OSError:  # none there (ENOENT), or the flash failed
        return False
    return True


def service_reboot(reboot):
    """The protocol's service(): marks the next power-up for service mode, then
    restarts the pen (reboot(): machine.reset() on a board, the bridge's on the
    virtual pen). The flag is a file, since both ports' file systems and the virtual
    pen's keep it across a reset, where RAM does not. Called between ticks, in IDLE
    with both valves closed (firmware/protocol.py, poll); a flag that cannot be
    written restarts nothing, and the pen says so."""

    def service():
        try:
            with open(FLASH_ROOT + SERVICE_FLAG, "wb") as f:
                f.write(b"service\n")
        except OSError as e:
            print("cryopen: service mode cannot be marked (error %s); hold reset at power-up"
                  % (e.args[0] if e.args else "?"))
            return
        reboot()

    return service
