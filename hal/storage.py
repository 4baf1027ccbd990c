"""The pen's flash: two copies of its state, two of the clinic configuration, two
of the tip sensors' calibration, and the treatment record's ring of small files. The file system is handed in (an object with open, rename, remove,
listdir and mkdir, as `os` and the built-in open are on the pen, or littlefs-python
on the host), as micropython-lib drivers take their bus.

Every write happens in the shell between ticks with both valves closed; nothing
here runs in the control tick. Nothing here formats a file system, ever.
"""
import errno

from firmware import calibration, config, record, store

STATE_FILES = ("state0.bin", "state1.bin")
CONFIG_FILES = ("config0.bin", "config1.bin")  # written in this order
CALIBRATION_FILES = ("calib0.bin", "calib1.bin")  # written in this order
_ENOENT = errno.ENOENT  # the port's own number for "no such file"
REC_DIR = "rec"
RECORDS_PER_FILE = 64  # 4 KiB files: littlefs appends slow down as a file grows
FILES_KEPT = 16  # the ring holds the last 960 to 1024 records


class OsFs:
    """The pen's own file system: `os` and the built-in open."""

    def __init__(self, os_, open_):
        self.open = open_
        self.rename = os_.rename
        self.remove = os_.remove
        self.listdir = os_.listdir
        self.mkdir = os_.mkdir


def _errno(e):
    return e.args[0] if e.args else None


def _read(fs, path):
    try:
        with fs.open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


class Storage:
    def __init__(self, fs, root="/"):
        self.fs = fs
        self.root = root
        self._file_no = -1  # the record file being appended to
        self._in_file = 0  # records in it
        self._seq = -1  # the newest state copy's sequence number; -1: not read yet

    def _path(self, name):
        return self.root + name

    # --- state ------------------------------------------------------------------
    def load_state(self):
        """The newer valid copy, or None: a cold start, which the pen announces."""
        state = store.newest([_read(self.fs, self._path(n)) for n in STATE_FILES])
        self._seq = state.seq if state is not None else 0
        return state

    def usable(self):
        """Whether the record can be written: its directory is there or can be made."""
        try:
            self.fs.listdir(self._path(REC_DIR))
            return True
        except OSError as e:
            if _errno(e) != _ENOENT:
                return False
        try:
            self.fs.mkdir(self._path(REC_DIR))
            return True
        except OSError:
            return False

    def state_files_exist(self):
        """Whether any copy exists, valid or not: none at all is a pen's first start."""
        for n in STATE_FILES:
            try:
                with self.fs.open(self._path(n), "rb"):
                    return True
            except OSError as e:
                if _errno(e) != _ENOENT:
                    return True  # there, but unreadable
        return False

    def save_state(self, state):
        """Writes the next sequence number over the older copy: a new file, renamed
        over it, so each copy is always wholly old or wholly new, and the other copy
        is the one before."""
        if self._seq < 0:
            self.load_state()
        state.seq = self._seq + 1
        name = self._path(STATE_FILES[state.seq % 2])
        tmp = name + ".new"
        with self.fs.open(tmp, "wb") as f:
            f.write(store.encode(state))
        self.fs.rename(tmp, name)
        self._seq = state.seq  # only once the copy is in place

    # --- the clinic configuration ------------------------------------------------------
    def config_copies(self):
        """[(name, bytes or None where there is none)] in CONFIG_FILES order, each read
        to at most one byte over config.SIZE_MAX; OSError when one cannot be read."""
        return self._copies(CONFIG_FILES, config.SIZE_MAX + 1)

    def save_config(self, data):
        """Writes one stored copy (config.encode) over both, copy 0 first, each as a
        new file renamed over the old: a cut leaves each copy wholly old or new, and
        copy 0 never older than copy 1."""
        self._save_copies(CONFIG_FILES, data)

    # --- the tip sensors' calibration --------------------------------------------------
    def calibration_copies(self):
        """As config_copies, for CALIBRATION_FILES, each read to at most one byte over
        calibration.SIZE."""
        return self._copies(CALIBRATION_FILES, calibration.SIZE + 1)

    def save_calibration(self, data):
        """Writes one stored copy (calibration.encode) over both, as save_config."""
        self._save_copies(CALIBRATION_FILES, data)

    def _copies(self, names, limit):
        out = []
        for n in names:
            try:
                with self.fs.open(self._path(n), "rb") as f:
                    out.append((n, f.read(limit)))
            except OSError as e:
                if _errno(e) != _ENOENT:
                    raise
                out.append((n, None))
        return out

    def _save_copies(self, names, data):
        for n in names:
            name = self._path(n)
            tmp = name + ".new"
            with self.fs.open(tmp, "wb") as f:
                f.write(data)
            self.fs.rename(tmp, name)

    # --- the treatment record ----------------------------------------------------------
    def _record_files(self):
        try:
            names = self.fs.listdir(self._path(REC_DIR))
        except OSError:
            return []
        return sorted(int(n[:-4]) for n in names if n.endswith(".bin") and n[:-4].isdigit())

    def _record_path(self, n):
        return self._path("%s/%08d.bin" % (REC_DIR, n))

    def _open_ring(self):
        """Finds the file to append to. A file whose length is not whole records
        ends in a torn write: the next record goes to a new file, after it."""
        files = self._record_files()
        if not files:
            try:
                self.fs.mkdir(self._path(REC_DIR))
            except OSError:
                pass  # it exists
            self._file_no = 0
            self._in_file = 0
            return
        last = files[-1]
        data = _read(self.fs, self._record_path(last)) or b""
        self._file_no = last
        self._in_file = len(data) // record.SIZE
        if len(data) % record.SIZE:
            self._file_no = last + 1
            self._in_file = 0

    def append(self, data):
        """Appends one encoded record; starts a new file when the current one is
        full and drops the oldest beyond FILES_KEPT."""
        if self._file_no < 0:
            self._open_ring()
        if self._in_file >= RECORDS_PER_FILE:
            self._file_no += 1
            self._in_file = 0
        with self.fs.open(self._record_path(self._file_no), "ab") as f:
            f.write(data)
        self._in_file += 1
        if self._in_file == 1:
            files = self._record_files()
            for n in files[:-FILES_KEPT]:
                self.fs.remove(self._record_path(n))

    def records(self):
        """Every record slot in order, as (position, fields or None, problem or None).
        position is 'file/offset'. A damaged record is reported and skipped."""
        out = []  # type: list
        for n in self._record_files():
            data = _read(self.fs, self._record_path(n))
            if data is None:
                out.append(("%08d.bin" % n, None, "unreadable file"))
                continue
            for off in range(0, len(data), record.SIZE):
                where = "%08d.bin@%d" % (n, off)
                try:
                    out.append((where, record.decode(data[off:off + record.SIZE]), None))
                except record.RecordError as e:
                    out.append((where, None, str(e)))
        return out
