"""The store and the treatment record on MicroPython's own file system, through
`os` and the built-in open as hal/boot.py hands them in on a pen.

One difference from the pens' ports: this WebAssembly build raises Emscripten's
errno numbers (44 for "no such file") while its errno module holds the POSIX ones
the ports raise (docs/PORTS.md). _PortOs translates that one number, as the
virtual pen's bridge does for all of them."""
import errno
import os

from firmware import record, store
from hal import storage
from hal.storage import OsFs, Storage

_ROOT = "/storage_test"
_EMSCRIPTEN_ENOENT = 44


def _posix(fn):
    def call(*args):
        try:
            return fn(*args)
        except OSError as e:
            if e.args and e.args[0] == _EMSCRIPTEN_ENOENT:
                raise OSError(errno.ENOENT)
            raise
    return call


class _PortOs:
    rename = staticmethod(_posix(os.rename))
    remove = staticmethod(_posix(os.remove))
    listdir = staticmethod(_posix(os.listdir))
    mkdir = staticmethod(_posix(os.mkdir))


def port_fs():
    return OsFs(_PortOs, _posix(open))


def fresh(name):
    root = _ROOT + "_" + name
    os.mkdir(root)
    return Storage(port_fs(), root + "/")


def app(n):
    return record.encode(record.APPLICATION, 1, 1000 * n, 0,
                         (1, n, 2, "aftercare", 10000, 350, 420, 8000, 9000, 135))


def test_state_copies_take_turns_and_the_newest_reads_back():
    st = fresh("state")
    assert st.load_state() is None and not st.state_files_exist()
    for n in range(1, 4):
        st.save_state(store.State(1, 0, 1, n, n % 2 == 1, 1000 * n, 5000, "aftercare"))
    back = Storage(port_fs(), _ROOT + "_state/").load_state()
    assert back.applications == 3 and back.seq == 3 and back.armed
    assert sorted(n for n in os.listdir(_ROOT + "_state") if n.endswith(".bin")) == list(
        storage.STATE_FILES)


def test_records_survive_a_rotation_and_read_back_in_order():
    st = fresh("ring")
    n = storage.RECORDS_PER_FILE + 3
    for i in range(n):
        st.append(app(i))
    rows = Storage(port_fs(), _ROOT + "_ring/").records()
    assert [f["number"] for _, f, problem in rows if problem is None] == list(range(n))
    assert len(os.listdir(_ROOT + "_ring/" + storage.REC_DIR)) == 2


def test_a_torn_tail_is_reported_and_the_next_record_goes_to_a_new_file():
    st = fresh("torn")
    st.append(app(0))
    path = _ROOT + "_torn/" + storage.REC_DIR + "/00000000.bin"
    with open(path, "ab") as f:
        f.write(app(1)[:20])  # power lost mid-write
    again = Storage(port_fs(), _ROOT + "_torn/")
    again.append(app(2))
    rows = again.records()
    assert [(f or {}).get("number") for _, f, _ in rows] == [0, None, 2]
    assert "torn" in rows[1][2]
