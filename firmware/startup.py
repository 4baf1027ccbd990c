"""From power-up to a pen ready to tick, the same on the device and in the
simulator: read the stored state, build the pen, resume the session the state
describes, and start the journal with a boot record.

The storage is handed in (hal/storage.py over the pen's file system, or over a
littlefs image on the host); None runs a pen that keeps nothing.
"""
from firmware import pen as pen_mod, record
from firmware.compat import ticks_add
from firmware.journal import Journal


class Started:
    def __init__(self, pen, journal, stored, cold_start):
        self.pen = pen
        self.journal = journal
        self.stored = stored  # the state read at boot, or None
        self.cold_start = cold_start  # no valid state: announced; a full rest first unless
        # no copy exists at all (the pen's first start)
        self.record_ok = True  # False: the flash could not be read at all


def start(board, profile, storage, now_ms, cause, backstop_failed=False):
    """cause: record.CAUSE_POWER, CAUSE_WATCHDOG or CAUSE_DELIBERATE."""
    watchdog = cause == record.CAUSE_WATCHDOG
    the_pen = pen_mod.build(board, profile, now_ms, watchdog, backstop_failed)
    if storage is None:
        return Started(the_pen, None, None, False)
    stored = None
    damaged = True  # unreadable: a cold start, with its full rest
    readable = True
    try:
        stored = storage.load_state()
        damaged = stored is None and storage.state_files_exist()
        readable = storage.usable()
    except OSError:
        readable = False
    cold = stored is None
    boot_count = 1
    if stored is not None:
        boot_count = stored.boot_count + 1
        if stored.applications or stored.armed or stored.open_ms:
            # A session in progress: it goes on, after a full rest from this boot.
            the_pen.resume(now_ms, stored.session, stored.applications, stored.open_ms)
            if stored.rest_ms > profile.rest_ms:  # the profile in force before was stricter
                the_pen.sup.rest_end_ms = ticks_add(now_ms, stored.rest_ms)
        else:
            the_pen.session = stored.session
    elif damaged:
        # Copies exist and none is valid: what happened before is unknown.
        the_pen.resume(now_ms, 1, 0, 0)
    # else: the pen's first start, nothing happened before it
    journal = Journal(boot_count, the_pen.session, board.NOMINAL_FLOW_MG_PER_S)
    journal.boot(now_ms, cause, cold, stored is not None and stored.armed, the_pen)
    started = Started(the_pen, journal, stored, cold)
    started.record_ok = readable
    return started
