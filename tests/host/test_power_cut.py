"""Power cuts at every flash operation, against the real littlefs (littlefs-python
wraps the C library the ports run).

A test block device counts the program and erase operations and loses power at
the N-th: that operation and every one after it fail (the context returns
LFS_ERR_IO: littlefs-python ignores an exception raised in a block device callback
and returns an arbitrary code, so the error is returned, not raised). In the
half-written variant the interrupted program leaves the first half of its data
and the rest as it was, and an interrupted erase leaves the first half of the
block erased. For every N from 1 until the operation completes without a cut, in
each case below, the image as the cut left it is mounted again with a fresh
LittleFS on a healthy device, and:

- it mounts (littlefs never needs formatting after a power cut);
- the state read back is exactly the old one or exactly the new one, never a mix,
  never none when one existed, and the new one once save_state has returned;
- every record committed before the cut reads back intact, in order, and nothing
  damaged appears (a littlefs append is atomic at close);
- a pen boots from it (firmware.startup, as on the device) and writes its boot
  entries to it (as firmware/app.py does between ticks).

The cases: a record append, a state write, a file rotation (a full ring, the append
that starts a new file and removes the oldest), and a state write followed by a
record append with the cut anywhere in either. Each runs from a sequence of
starting images (one before each of several consecutive operations), so cuts land
in appends to a fresh block, in metadata commits and in metadata compactions.

The geometry is the rp2 port's (ports/rp2/modules/_boot.py mounts VfsLfs2 with
progsize=256; extmod/vfs_lfsx.c's defaults give read size 32, lookahead 32 and a
cache of 4 * max(read, prog) bytes) on a small image of 64 blocks.
"""
import pytest

import boards.sim.board as sim_board
from firmware import profiles, record, startup, store
from firmware.journal import RECORD, STATE
from hal import storage as storage_mod
from hal.storage import Storage
from host_tools.pens.flash_image import BLOCK_SIZE, LfsFs
from littlefs import LittleFS, UserContext
from littlefs.errors import LittleFSError

BLOCK_COUNT = 64
GEOMETRY = {"block_size": BLOCK_SIZE, "block_count": BLOCK_COUNT, "read_size": 32,
            "prog_size": 256, "cache_size": 1024, "lookahead_size": 32}
LFS_ERR_IO = -5
PROFILE = profiles.builtin("moderate")

# Lines for the end of the run: tests/conftest.py's pytest_terminal_summary prints them.
TERMINAL_SUMMARY = []


class CutFlash(UserContext):
    """A flash that loses power at its cut-th program or erase (0: never)."""

    def __init__(self, image, cut=0, half=False):
        super().__init__(buffer=bytearray(image))
        self.cut = cut
        self.half = half
        self.ops = 0
        self.fired = False

    def _dead(self):
        self.ops += 1
        if self.cut and self.ops >= self.cut:
            first = not self.fired
            self.fired = True
            return first and self.half, True
        return False, False

    # As UserContext's, without its per-call logging (most of the run time otherwise).
    def read(self, cfg, block, off, size):
        start = block * cfg.block_size + off
        return self.buffer[start:start + size]

    def prog(self, cfg, block, off, data):
        partial, dead = self._dead()
        start = block * cfg.block_size + off
        if partial:
            n = len(data) // 2
            self.buffer[start:start + n] = data[:n]
        if dead:
            return LFS_ERR_IO
        self.buffer[start:start + len(data)] = data
        return 0

    def erase(self, cfg, block):
        partial, dead = self._dead()
        start = block * cfg.block_size
        n = cfg.block_size // 2 if partial else 0 if dead else cfg.block_size
        self.buffer[start:start + n] = b"\xff" * n
        return LFS_ERR_IO if dead else 0


def mount(ctx):
    """Mounts, never formats: LittleFSError if the image does not mount."""
    lfs = LittleFS(context=ctx, mount=False, **GEOMETRY)
    lfs.mount()
    return lfs


def blank():
    ctx = CutFlash(b"\xff" * (BLOCK_SIZE * BLOCK_COUNT))
    lfs = LittleFS(context=ctx, mount=False, **GEOMETRY)
    lfs.format()
    lfs.mount()
    return lfs, ctx


# --- what the pen writes -------------------------------------------------------------
def application(i):
    """The i-th application record: every field differs from its neighbours'."""
    return record.encode(record.APPLICATION, 1 + i // 50, 1000 + 9000 * i, 0, (
        1 + i // 10, 1 + i % 10, i % 4, ("moderate", "aftercare", "ftf")[i % 3], 2500 + i,
        -1800 - i, 300 + i, 1000 + i, 900 + i, 13 + i % 7))


def next_state(old, i):
    """Read, modify, save: the stored state with every field changed."""
    s = old or store.State()
    return store.State(s.boot_count + 1, s.seq, s.session + 1, (i * 7) % 200, i % 2 == 1,
                       s.open_ms + 1111, 5000 + 10 * i, ("moderate", "aftercare", "ftf")[i % 3])


def op_append(st, i, done):
    st.append(application(i))
    done.append("record")


def op_state(st, i, done):
    state = next_state(st.load_state(), i)
    st.save_state(state)
    done.append("state")
    done.append(state.fields())  # as written, with the sequence number save_state gave it


def op_race(st, i, done):
    op_state(st, i, done)
    op_append(st, i, done)


# --- one case --------------------------------------------------------------------------
class Tally:
    def __init__(self, name):
        self.name = name
        self.cuts = {False: 0, True: 0}  # half-written: cut points tried
        self.lost = []  # committed records that did not read back
        self.mixed = []  # state neither the old nor the new one, or gone
        self.other = []  # did not mount, damage appeared, the pen did not boot

    def line(self):
        total = self.cuts[False] + self.cuts[True]
        return ("power cut: %-9s %4d cut points (%d clean, %d half-written): %d lost committed "
                "records, %d mixed states, %d other problems" % (
                    self.name, total, self.cuts[False], self.cuts[True], len(self.lost),
                    len(self.mixed), len(self.other)))


def _intact(st):
    """(intact records as (position, fields), damaged positions)."""
    rows = st.records()
    return ([(p, f) for p, f, _ in rows if f is not None],
            [(p, why) for p, f, why in rows if f is None])


def _fields(state):
    return None if state is None else state.fields()


def starting_images(setup, op, count):
    """The image before each of count consecutive operations, after setup."""
    lfs, ctx = blank()
    setup(Storage(LfsFs(lfs)))
    images = []
    for i in range(count):
        images.append((i, bytes(ctx.buffer)))
        st = Storage(LfsFs(lfs))
        op(st, i, [])
    return images


def run_case(tally, images, op):
    for i, image in images:
        before = Storage(LfsFs(mount(CutFlash(image))))
        old_state = _fields(before.load_state())
        committed, damaged_before = _intact(before)
        assert not damaged_before
        # The operation without a cut: what "new" means.
        ctx = CutFlash(image)
        done = []
        op(Storage(LfsFs(mount(ctx))), i, done)
        after = Storage(LfsFs(mount(CutFlash(ctx.buffer))))
        new_state = _fields(after.load_state())
        if "state" in done:
            assert new_state == done[done.index("state") + 1], "the state read back is not " \
                "the state written"
        completed = [f for _, f in _intact(after)[0]]
        for half in (False, True):
            n = 0
            while True:
                n += 1
                ctx = CutFlash(image, n, half)
                done = []
                try:
                    op(Storage(LfsFs(mount(ctx))), i, done)
                except OSError:
                    assert ctx.fired, "an error without a power cut at op %d" % n
                if not ctx.fired:
                    break  # the operation completed before the N-th flash operation
                tally.cuts[half] += 1
                check(tally, (i, n, half), bytes(ctx.buffer), old_state, new_state,
                      [f for _, f in committed], completed, done)


def check(tally, where, image, old_state, new_state, committed, completed, done):
    """committed: the records before the operation; completed: after it, uncut."""
    try:
        lfs = mount(CutFlash(image))
    except LittleFSError as e:
        tally.other.append((where, "does not mount: %s" % e))
        return
    st = Storage(LfsFs(lfs))
    state = _fields(st.load_state())
    if state not in (old_state, new_state) or (old_state is not None and state is None) or (
            "state" in done and state != new_state):
        tally.mixed.append((where, old_state, new_state, state))
    records, damaged = _intact(st)
    if damaged:
        tally.other.append((where, "damaged records appeared: %s" % damaged))
    got = [f for _, f in records]
    # Before, or the new record in, or (a rotation) the new record in and the oldest
    # file gone; once append has returned, not before.
    allowed = [committed, committed + completed[-1:], completed]
    if "record" in done:
        allowed = allowed[1:]
    if got not in allowed:
        missing = [f for f in committed if f not in got and f not in completed]
        tally.lost.append((where, missing or "%d records where %s were expected" % (
            len(got), " or ".join(str(len(a)) for a in allowed))))
    try:
        started = startup.start(sim_board, PROFILE, st, 0, record.CAUSE_POWER)
        # The pen writes its boot entries as the shell does between ticks.
        for what, payload in started.journal.queue:
            if what == STATE:
                st.save_state(payload)
            elif what == RECORD:
                st.append(payload)
        if started.cold_start != (state is None):
            tally.other.append((where, "cold start %s with state %s" % (started.cold_start,
                                                                         state)))
        again, damaged = _intact(st)
        # These images hold no clinic configuration: the boot records the factory one
        # it writes (firmware/startup.py) after its boot record.
        while again and again[-1][1]["kind"] == "change":
            again = again[:-1]
        kept = [f for _, f in again[:-1]]
        # The boot's own append may start a new file and drop the oldest.
        dropped = len(got) - len(kept)
        if (damaged or again[-1][1]["kind"] != "boot" or kept != got[dropped:]
                or not 0 <= dropped <= storage_mod.RECORDS_PER_FILE):
            tally.other.append((where, "records after the boot: %d of %d, damaged %s" % (
                len(again), len(got), damaged)))
        if _fields(st.load_state()) is None:
            tally.other.append((where, "no state after the boot"))
    except Exception as e:  # noqa: BLE001 - any failure to boot is the finding
        tally.other.append((where, "the pen did not boot: %r" % e))


def report(tally):
    line = tally.line()
    print(line)
    TERMINAL_SUMMARY.append(line)
    assert not tally.lost, tally.lost[:3]
    assert not tally.mixed, tally.mixed[:3]
    assert not tally.other, tally.other[:3]
    return tally.cuts[False] + tally.cuts[True]


def _some_records(n):
    def setup(st):
        st.save_state(next_state(None, 100))
        st.save_state(next_state(st.load_state(), 101))  # both copies exist
        for i in range(n):
            st.append(application(200 + i))
    return setup


_TOTALS = {}


def test_power_cut_during_a_record_append():
    tally = Tally("append")
    # From 40 records, 20 appends: into the open file's block, past a block, commits.
    run_case(tally, starting_images(_some_records(40), op_append, 20), op_append)
    _TOTALS["append"] = report(tally)


def test_power_cut_during_a_state_write():
    tally = Tally("state")
    run_case(tally, starting_images(_some_records(3), op_state, 25), op_state)
    _TOTALS["state"] = report(tally)


def test_power_cut_during_a_file_rotation():
    tally = Tally("rotation")
    per_file = storage_mod.RECORDS_PER_FILE
    full = per_file * storage_mod.FILES_KEPT
    lfs, ctx = blank()
    st = Storage(LfsFs(lfs))
    _some_records(full)(st)  # the ring is full, its last file too
    images = []
    for r in range(8):
        images.append((1000 + r, bytes(ctx.buffer)))
        for i in range(per_file):
            st.append(application(1000 + r * per_file + i))
    assert len(st._record_files()) == storage_mod.FILES_KEPT
    run_case(tally, images, op_append)
    _TOTALS["rotation"] = report(tally)


def test_power_cut_during_a_state_write_racing_a_record_append():
    tally = Tally("race")
    run_case(tally, starting_images(_some_records(20), op_race, 16), op_race)
    _TOTALS["race"] = report(tally)


def test_power_cut_points_in_total():
    """Runs last in this module (pytest keeps file order): the total across the cases."""
    if set(_TOTALS) != {"append", "state", "rotation", "race"}:
        pytest.skip("the total needs every case of this module in the run")
    total = sum(_TOTALS.values())
    line = "power cut: %d cut points in total, 0 lost committed records, 0 mixed states" % total
    print(line)
    TERMINAL_SUMMARY.append(line)
    assert total >= 200


