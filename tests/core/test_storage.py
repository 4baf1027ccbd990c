"""hal/storage.py over an in-memory file system with the `os`-like interface it
takes: the record ring (rotation, FILES_KEPT, a torn tail) and the two state copies.
Runs under CPython and under MicroPython (tests/mpy/run.mjs). The same code against
the real littlefs, with power cuts: tests/host/test_power_cut.py."""
from firmware import record, store
from hal import storage
from hal.storage import Storage

ENOENT = 2
EEXIST = 17


class _File:
    def __init__(self, fs, path, data):
        self.fs = fs
        self.path = path
        self.data = data

    def read(self, n=-1):
        return bytes(self.data if n < 0 else self.data[:n])

    def write(self, data):
        self.data.extend(data)
        return len(data)

    def close(self):
        if self.path is not None:
            self.fs.files[self.path] = bytes(self.data)  # written at close, as littlefs does

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DictFs:
    """Files as a dict of path -> bytes; directories as a set of paths. Opening a path
    that holds unreadable fails as a worn flash does (EIO)."""

    def __init__(self, unreadable=None):
        self.files = {}
        self.dirs = set()
        self.renames = []
        self.unreadable = unreadable

    def open(self, path, mode):
        if self.unreadable is not None and self.unreadable in path:
            raise OSError(5)
        if "r" in mode:
            if path not in self.files:
                raise OSError(ENOENT)
            return _File(self, None, bytearray(self.files[path]))
        self._parent(path)
        if "a" in mode:
            return _File(self, path, bytearray(self.files.get(path, b"")))
        return _File(self, path, bytearray())

    def _parent(self, path):
        parent = path[:path.rfind("/")]
        if parent and parent not in self.dirs:
            raise OSError(ENOENT)

    def rename(self, a, b):
        if a not in self.files:
            raise OSError(ENOENT)
        self.files[b] = self.files.pop(a)
        self.renames.append((a, b))

    def remove(self, path):
        if path not in self.files:
            raise OSError(ENOENT)
        del self.files[path]

    def listdir(self, path):
        if path not in self.dirs:
            raise OSError(ENOENT)
        prefix = path + "/"
        return [p[len(prefix):] for p in self.files if p.startswith(prefix)
                and "/" not in p[len(prefix):]]

    def mkdir(self, path):
        if path in self.dirs:
            raise OSError(EEXIST)
        self.dirs.add(path)


def _rec(i):
    return record.encode(record.CHANGE, 1, i, 0, (record.CHANGE_CONFIG, "n%d" % i))


def _t_ms(rows):
    return [fields["t_ms"] for _, fields, _ in rows]


def test_appends_go_on_across_a_rotation_in_order():
    fs = DictFs()
    st = Storage(fs)
    per = storage.RECORDS_PER_FILE
    for i in range(per + 3):
        st.append(_rec(i))
    assert sorted(fs.listdir("/rec")) == ["00000000.bin", "00000001.bin"]
    assert len(fs.files["/rec/00000000.bin"]) == per * record.SIZE
    rows = st.records()
    assert _t_ms(rows) == list(range(per + 3))
    assert rows[per][0] == "00000001.bin@0" and rows[per + 2][0] == "00000001.bin@128"
    assert all(problem is None for _, _, problem in rows)


def test_a_new_boot_appends_to_the_last_file_where_it_left_off():
    fs = DictFs()
    st = Storage(fs)
    for i in range(10):
        st.append(_rec(i))
    Storage(fs).append(_rec(10))  # RAM lost: a new Storage finds its place from the files
    assert fs.listdir("/rec") == ["00000000.bin"]
    assert _t_ms(Storage(fs).records()) == list(range(11))


def test_the_ring_keeps_files_kept_files_and_drops_the_oldest():
    fs = DictFs()
    st = Storage(fs)
    per, kept = storage.RECORDS_PER_FILE, storage.FILES_KEPT
    n = (kept + 2) * per + 1
    for i in range(n):
        st.append(_rec(i))
    files = sorted(fs.listdir("/rec"))
    assert len(files) == kept
    assert files[0] == "%08d.bin" % 3 and files[-1] == "%08d.bin" % (kept + 2)
    assert _t_ms(st.records()) == list(range(3 * per, n))


def test_a_torn_tail_is_reported_and_the_next_record_starts_a_new_file():
    fs = DictFs()
    st = Storage(fs)
    for i in range(5):
        st.append(_rec(i))
    path = "/rec/00000000.bin"
    fs.files[path] = fs.files[path] + _rec(5)[:40]  # a write the power cut tore
    st = Storage(fs)
    st.append(_rec(6))
    assert sorted(fs.listdir("/rec")) == ["00000000.bin", "00000001.bin"]
    rows = st.records()
    assert [(where, problem) for where, fields, problem in rows if fields is None] == [
        ("00000000.bin@320", "torn: 40 of 64 bytes")]
    assert _t_ms([r for r in rows if r[1] is not None]) == [0, 1, 2, 3, 4, 6]
    assert rows[-1][0] == "00000001.bin@0"


def test_a_damaged_record_is_reported_at_its_position_and_the_rest_read():
    fs = DictFs()
    st = Storage(fs)
    for i in range(8):
        st.append(_rec(i))
    path = "/rec/00000000.bin"
    data = bytearray(fs.files[path])
    data[3 * record.SIZE + 20] ^= 0x01
    fs.files[path] = bytes(data)
    rows = st.records()
    assert [(w, p) for w, f, p in rows if f is None] == [("00000000.bin@192", "bad CRC")]
    assert _t_ms([r for r in rows if r[1] is not None]) == [0, 1, 2, 4, 5, 6, 7]


def test_no_record_directory_reads_as_no_records():
    assert Storage(DictFs()).records() == []


def test_state_copies_take_turns_through_a_new_file_renamed_over_the_old():
    fs = DictFs()
    st = Storage(fs)
    assert st.load_state() is None and not st.state_files_exist()
    s = store.State(boot_count=1, session=1, profile="moderate")
    slots = []
    for i in range(4):
        s.applications = i
        st.save_state(s)
        a, b = fs.renames[-1]
        assert a == b + ".new"
        slots.append(b)
        got = Storage(fs).load_state()
        assert got.applications == i and got.seq == s.seq
    assert slots == ["/state1.bin", "/state0.bin", "/state1.bin", "/state0.bin"]
    assert sorted(fs.files) == ["/state0.bin", "/state1.bin"]  # no .new left behind
    assert st.state_files_exist()


def test_a_damaged_newest_state_copy_falls_back_to_the_other():
    fs = DictFs()
    st = Storage(fs)
    s = store.State(boot_count=1, session=1, profile="moderate")
    for i in range(3):
        s.applications = i
        st.save_state(s)
    newest = "/state%d.bin" % (s.seq % 2)
    data = bytearray(fs.files[newest])
    data[14] ^= 0xFF
    fs.files[newest] = bytes(data)
    got = st.load_state()
    assert got.applications == 1 and got.seq == s.seq - 1
    fs.files["/state%d.bin" % ((s.seq - 1) % 2)] = b""
    assert st.load_state() is None and st.state_files_exist()


def test_fresh_snapshots_as_the_journal_queues_them_take_turns_and_the_newest_wins():
    fs = DictFs()
    st = Storage(fs)
    s = store.State(boot_count=1, session=1, profile="moderate")
    st.save_state(s)
    st.save_state(s)  # seq 1 and 2: both copies exist
    st = Storage(fs)  # a new boot: the numbering goes on from the copies
    seqs = []
    for i in range(4):
        snapshot = store.State(boot_count=2, seq=0, session=1, applications=i,
                               profile="moderate")  # seq 0, as firmware/journal.py makes it
        st.save_state(snapshot)
        seqs.append(snapshot.seq)
        got = Storage(fs).load_state()
        assert got.applications == i and got.seq == snapshot.seq, (i, got.fields())
    assert seqs == [3, 4, 5, 6]
    assert [b for _, b in fs.renames[-4:]] == ["/state1.bin", "/state0.bin", "/state1.bin",
                                               "/state0.bin"]


def test_a_copy_that_cannot_be_read_counts_as_there():
    class Unreadable(DictFs):
        def open(self, path, mode):
            raise OSError(5)  # EIO: not "no such file"

    assert Storage(Unreadable()).state_files_exist()
    assert not Storage(DictFs()).state_files_exist()
