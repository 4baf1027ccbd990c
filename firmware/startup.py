"""From power-up to a pen ready to tick, the same on the device and in the
simulator: read the clinic configuration and the stored state, build the pen in
the configuration's start profile, resume the session the state describes, and
start the journal with a boot record.

The storage is handed in (hal/storage.py over the pen's file system, or over a
littlefs image on the host); None runs a pen that keeps nothing.

The clinic configuration is never replaced by a default on the pen's own: no
stored copy at all (a new pen) gives the factory configuration, written and
recorded; a copy that fails its CRC or its check leaves the pen refusing to treat
(config_invalid) until the host link installs one or the clinician restores the
factory configuration by a deliberate gesture (Clinic.watch).

The tip sensors' calibration follows the same rules (TipCalibration): none stored,
the board's nominal curve; a stored one that fails its CRC or its check, no
treatment (calibration_invalid) until the host link stores one or the same gesture
restores the board's curve. A calibration is put in force only here, at power-up:
the thermistor tables are built from it, and a curve changed under a running pen
would step the reading, which the supervisor's rate check takes for a loose contact.
"""
from firmware import alarms, calibration as cal_mod, config, pen as pen_mod, record, states, \
    thermistor
from firmware.compat import const, ticks_add, ticks_diff
from firmware.journal import Journal

# The restore gesture: mode held this long, then, still held, reset pressed this many
# times, in IDLE or DONE while the pen shows config_invalid (or calibration_invalid:
# the gesture restores what the pen shows). The new-cartridge gesture (mode held,
# reset pressed once) never holds mode this long and presses reset again.
RESTORE_HOLD_MS = const(5000)
RESTORE_PRESSES = const(3)
FACTORY = "factory"  # the change record's detail when the factory configuration is put in force
BOARD = "board"  # the change record's detail when the board's nominal curve is restored
_CONFIG_ALARM = alarms.worst(alarms.F_CONFIG)
_CALIBRATION_ALARM = alarms.worst(alarms.F_CALIBRATION)


class TipCalibration:
    """The tip sensors' calibration on this pen (firmware/calibration.py): in_force,
    the one the thermistor tables were built from at boot (the board's nominal curve
    unless one is stored); next, the one the next power-up builds them from (None:
    the same); problem, why the stored one was refused (the shell then inhibits every
    application; in_force is then the board's curve, so the pen can tick and show it).
    Ways to change it, each for the next power-up: keep() (the host link) and
    restore_board() (the gesture at the pen)."""

    def __init__(self, storage, board):
        self.storage = storage
        self.model = thermistor.model_from_board(board)  # what every calibration is checked against
        self.nominal = cal_mod.nominal(board)  # the board's curve, as a Calibration
        self.in_force = self.nominal
        self.stored = False  # in_force came from the pen's flash
        self.next = None
        self.problem = None
        self.seq = 0
        self.journal = None  # set once the journal exists; a restore is recorded in it

    def load(self):
        """At boot: the calibration the stored copies hold, or the problem; none stored
        leaves the board's curve in force."""
        try:
            got = cal_mod.choose(self.storage.calibration_copies(), self.model)
        except OSError as e:
            self.problem = "stored calibration cannot be read (error %s)" % (
                e.args[0] if e.args else "?")
            return
        except cal_mod.CalibrationError as e:
            self.problem = "stored calibration refused: %s" % e
            return
        if got is None:
            return
        self.in_force = got.calibration
        self.stored = True
        self.seq = got.seq
        if not got.whole:  # a write cut between the two copies: finish it
            try:
                self.storage.save_calibration(got.data)
            except OSError:
                pass  # in force all the same; the next boot reads what the flash holds

    def keep(self, cal):
        """The host link's way in (hal/link.py, changes): the checked calibration cal
        stored over both copies, for the next power-up. An OSError changes nothing in
        this power-up (though copy 0, if it was written, wins at the next boot, as after
        a cut write). It ends a refusal: the clinician confirmed at the pen what it is
        to use, and until the next power-up the pen treats on the board's curve its
        tables hold, as a pen never calibrated does."""
        data = cal_mod.encode(cal, self.seq + 1)
        self.storage.save_calibration(data)
        self.seq += 1
        self.next = cal
        self.problem = None

    def restore_board(self, now_ms):
        """The restore gesture: the board's nominal curve stored, recorded and, since the
        tables were built from it while the stored one was refused, in force at once.
        Asked for at the pen, it holds for this power-up even when the flash fails to
        store it (the next boot then refuses the damaged copies again)."""
        try:
            self.keep(self.nominal)
        except OSError:
            pass
        self.next = None
        self.problem = None
        if self.journal is not None:
            self.journal.change(now_ms, record.CHANGE_CALIBRATION, BOARD)


class Clinic:
    """The clinic configuration on this pen: the one read at boot, or why the stored
    one was refused (problem: the shell then inhibits every application), and the
    ways to change it: install() (the host link), restore_factory(), and the restore
    gesture at the pen (watch())."""

    def __init__(self, storage, fallback):
        self.storage = storage
        self.fallback = fallback  # the board's default profile: the factory start; it
        # stands in, never treating, while the stored configuration is refused
        self.journal = None  # set once the journal exists; changes are recorded in it
        self.problem = None  # why the stored configuration was refused; None: one is in force
        self.choices = (fallback,)
        self.start = 0
        self.seq = 0
        self.factory = False  # no copy was found at boot: the factory configuration
        self.calibration = None  # the tip sensors' (TipCalibration), refused like the above
        self._mode_down = False
        self._mode_ms = 0
        self._presses = 0

    def refused(self):
        """The inhibit bits to raise while the configuration or the calibration stored
        on the pen is refused (F_CONFIG, F_CALIBRATION), 0 when neither. Allocates nothing."""
        bits = 0
        if self.problem is not None:
            bits = alarms.F_CONFIG
        tips = self.calibration
        if tips is not None and tips.problem is not None:
            bits |= alarms.F_CALIBRATION
        return bits

    def load(self):
        """At boot: the configuration the stored copies hold, the factory one (stored)
        when there is no copy at all, or the problem."""
        try:
            got = config.choose(self.storage.config_copies())
        except OSError as e:
            self.problem = "stored configuration cannot be read (error %s)" % (
                e.args[0] if e.args else "?")
            return
        except config.ConfigError as e:
            self.problem = "stored configuration refused: %s" % e
            return
        if got is None:
            d = config.factory(self.fallback.name)
            self.choices, self.start = config.load(d)
            self.seq = 1
            self.factory = True
            self._store(config.encode(d, self.seq))
            return
        self.choices, self.start, self.seq = got.choices, got.start, got.seq
        if not got.whole:  # a write cut between the two copies: finish it
            self._store(got.data)

    def _store(self, data):
        """Writes both copies; False when the flash fails (the configuration stays in
        force for this power-up, and the next boot reads what the flash holds)."""
        try:
            self.storage.save_config(data)
            return True
        except OSError:
            return False

    def install(self, pen, d, now_ms):
        """The host link's way in: the configuration d checked like any (ConfigError
        with the field), stored over both copies (OSError: nothing changed), recorded
        with its CRC as detail, and offered to the pen. Between ticks, never while the
        pen treats or a valve is open (ConfigError)."""
        if pen.state == states.TREATING or pen.out.valve or pen.out.master:
            raise config.ConfigError("config: not while a valve may open")
        choices, start = config.load(d)
        data = config.encode(d, self.seq + 1)
        self.storage.save_config(data)
        crc = data[-4] | data[-3] << 8 | data[-2] << 16 | data[-1] << 24
        self._in_force(pen, choices, start, now_ms, "%08x" % crc)

    def restore_factory(self, pen, now_ms):
        """The factory configuration, put in force and recorded. The clinician asked
        for it at the pen, so it holds for this power-up even when the flash fails
        to store it (the failed record write then raises record_unavailable)."""
        d = config.factory(self.fallback.name)
        choices, start = config.load(d)
        self._store(config.encode(d, self.seq + 1))
        self._in_force(pen, choices, start, now_ms, FACTORY)

    def _in_force(self, pen, choices, start, now_ms, detail):
        self.choices = choices
        self.start = start
        self.seq += 1
        self.problem = None
        pen.offer(choices, start)
        if self.journal is not None:
            self.journal.change(now_ms, record.CHANGE_CONFIG, detail)

    def watch(self, now_ms, mode_down, reset, pen):
        """Each tick while the configuration or the calibration is refused: the restore
        gesture, of what the pen shows (config_invalid before calibration_invalid). True
        when it took this reset press, which no other gesture then sees: every press
        with mode held in IDLE or DONE. A press before the hold is long enough counts
        for nothing (the pen answers it as any reset outside FAULT); releasing mode
        starts the count again, and so does a restore (the other needs its own)."""
        if not mode_down:
            self._mode_down = False
            self._presses = 0
            return False
        if not self._mode_down:
            self._mode_down = True
            self._mode_ms = now_ms
            self._presses = 0
        if not reset or (pen.state != states.IDLE and pen.state != states.DONE):
            return False
        shown = pen.out.alarm
        tips = self.calibration
        if shown == _CONFIG_ALARM:
            restorable = self.problem is not None
        else:
            restorable = (shown == _CALIBRATION_ALARM and tips is not None
                          and tips.problem is not None)
        if (ticks_diff(now_ms, self._mode_ms) < RESTORE_HOLD_MS or not restorable
                or pen.out.valve or pen.out.master):
            pen.reset(now_ms)  # outside FAULT a reset only sounds refused
            return True
        self._presses += 1
        if self._presses >= RESTORE_PRESSES:
            if shown == _CONFIG_ALARM:
                self.restore_factory(pen, now_ms)
            elif tips is not None:
                tips.restore_board(now_ms)
            self._mode_ms = now_ms
            self._presses = 0
        return True


class Started:
    def __init__(self, pen, journal, stored, cold_start):
        self.pen = pen
        self.journal = journal
        self.stored = stored  # the state read at boot, or None
        self.cold_start = cold_start  # no valid state: announced; a full rest first unless
        # no copy exists at all (the pen's first start)
        self.record_ok = True  # False: the flash could not be read at all
        self.clinic = None  # the clinic configuration (Clinic); None: nothing is kept


def start(board, profile, storage, now_ms, cause, backstop_failed=False):
    """cause: record.CAUSE_POWER, CAUSE_WATCHDOG or CAUSE_DELIBERATE. profile: the
    board's default; the factory configuration starts in it, and it stands in, never
    treating, while a stored configuration is refused."""
    watchdog = cause == record.CAUSE_WATCHDOG
    if storage is None:
        return Started(pen_mod.build(board, profile, now_ms, watchdog, backstop_failed),
                       None, None, False)
    clinic = Clinic(storage, profile)
    clinic.load()
    tips = TipCalibration(storage, board)
    tips.load()
    clinic.calibration = tips
    the_pen = pen_mod.build(board, clinic.choices[clinic.start], now_ms, watchdog,
                            backstop_failed, tips.in_force if tips.stored else None)
    if clinic.problem is None:
        the_pen.offer(clinic.choices, clinic.start)
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
            if stored.rest_ms > the_pen.profile.rest_ms:  # the one in force before was stricter
                the_pen.sup.rest_end_ms = ticks_add(now_ms, stored.rest_ms)
        else:
            the_pen.session = stored.session
        the_pen.gauge.restore(stored.cartridge_ms)  # not known from a version 1 copy
    elif damaged:
        # Copies exist and none is valid: what happened before is unknown.
        the_pen.resume(now_ms, 1, 0, 0)
        the_pen.gauge.restore(-1)  # nor is the cartridge: low_gas until a new one is declared
    # else: the pen's first start, nothing happened before it: its first cartridge is new
    journal = Journal(boot_count, the_pen.session, board.NOMINAL_FLOW_MG_PER_S)
    journal.boot(now_ms, cause, cold, stored is not None and stored.armed, the_pen)
    clinic.journal = journal
    tips.journal = journal
    if clinic.factory:
        journal.change(now_ms, record.CHANGE_CONFIG, FACTORY)
    started = Started(the_pen, journal, stored, cold)
    started.record_ok = readable
    started.clinic = clinic
    return started
