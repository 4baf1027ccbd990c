"""`cryopen logs --flash` on damaged flash images: a damaged record is reported with
its position and skipped, every other record is still read, the exit status says
whether damage was found, and nothing ever ends in a traceback. Plus the record and
state decoders fuzzed directly.

The image comes from `cryopen simulate --flash` (several applications, a power cut,
a fault latched and cleared). Its treatment record is one file larger than
littlefs's inline limit, so its bytes sit in a data block, where only the record's
own CRC guards them (littlefs checksums its metadata, not file data).
"""
import binascii
import contextlib
import io
import json
import os
import random
import struct

import pytest
from hypothesis import given, settings, strategies as st

from firmware import record, store
from hal.storage import Storage
from host_tools import cli
from host_tools.pens import flash_image

SEED = int(os.environ.get("CRYOPEN_FLIP_SEED", "20240611"))
FLIPS = 50

_PRESSES = [e for k in range(8) for e in (
    {"t": 1.0 + 6.5 * k, "trigger": True}, {"t": 2.5 + 6.5 * k, "trigger": False})]
SCENARIO = {"name": "several applications", "profile": "aftercare", "duration_s": 58,
            "events": sorted(_PRESSES + [
                {"t": 24.0, "power": False}, {"t": 24.5, "power": True},
                {"t": 53.0, "fault": "thermistor_open"}, {"t": 54.0, "clear": "thermistor_open"},
                {"t": 55.0, "reset": True}], key=lambda e: e["t"])}


class Pen:
    """The simulated pen's image and what an intact read of it gives."""

    def __init__(self, path, image, rows, spans):
        self.path = path
        self.image = image
        self.rows = rows  # {position: row without its index}, from the JSON export
        self.spans = spans  # [(file name, offset of its bytes in the image, length)]


def logs(path, capsys, *extra):
    """(status, stdout, stderr) of `cryopen logs --flash path`."""
    capsys.readouterr()
    status = cli.main(["logs", "--flash", str(path)] + list(extra))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return status, out, err


def _rows(path):
    with open(path) as f:
        doc = json.load(f)
    rows = {}
    for r in doc["records"]:
        r = dict(r)
        del r["index"]
        rows[r["position"]] = r
    return rows, [(d["position"], d["problem"]) for d in doc["damaged"]]


@pytest.fixture(scope="module")
def pen(tmp_path_factory):
    d = tmp_path_factory.mktemp("damage")
    scenario = d / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    path = d / "pen.img"
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["simulate", str(scenario), "--flash", str(path)]) == 0
        assert cli.main(["logs", "--flash", str(path), "--json", str(d / "intact.json")]) == 0
    rows, damaged = _rows(d / "intact.json")
    assert not damaged
    kinds = {r["kind"] for r in rows.values()}
    assert {"boot", "application", "fault"} <= kinds, kinds
    image = path.read_bytes()
    lfs, _ = flash_image.mount_bytes(image)
    fs = flash_image.LfsFs(lfs)
    spans = []
    for name in sorted(fs.listdir("/rec")):
        with fs.open("/rec/" + name, "rb") as f:
            data = f.read()
        at = image.find(data)
        assert at >= 0 and image.find(data, at + 1) < 0, "the record file's bytes are not unique"
        assert at % flash_image.BLOCK_SIZE == 0, "the record file is inline in metadata"
        spans.append((name, at, len(data)))
    assert len(rows) == sum(n for _, _, n in spans) // record.SIZE >= 10
    return Pen(path, image, rows, spans)


def _flipped(pen, offset, xor, tmp_path):
    image = bytearray(pen.image)
    image[offset] ^= xor
    path = tmp_path / "flipped.img"
    path.write_bytes(bytes(image))
    return path


def test_fifty_byte_flips_in_the_record_are_reported_and_the_rest_read(pen, tmp_path, capsys):
    rng = random.Random(SEED)
    print("record flips: seed %d (CRYOPEN_FLIP_SEED)" % SEED)
    total = sum(n for _, _, n in pen.spans)
    for k in range(FLIPS):
        i = rng.randrange(total)
        for name, at, n in pen.spans:
            if i < n:
                break
            i -= n
        xor = rng.randrange(1, 256)
        path = _flipped(pen, at + i, xor, tmp_path)
        export = tmp_path / "flipped.json"
        status, out, _ = logs(path, capsys, "--json", str(export))
        where = "%s@%d" % (name, i - i % record.SIZE)
        context = "flip %d: byte %d of %s ^ 0x%02x" % (k, i, name, xor)
        assert status == 1, context
        assert "damaged record at %s: bad CRC (skipped)" % where in out, context
        assert "%d records, 1 damaged" % (len(pen.rows) - 1) in out, context
        rows, damaged = _rows(export)
        assert damaged == [(where, "bad CRC")], context
        assert rows == {p: r for p, r in pen.rows.items() if p != where}, context


def test_flips_in_a_record_blocks_unused_space_change_nothing(pen, tmp_path, capsys):
    rng = random.Random(SEED + 1)
    _, intact, _ = logs(pen.path, capsys)
    for k in range(10):
        name, at, n = rng.choice(pen.spans)
        offset = at + rng.randrange(n, flash_image.BLOCK_SIZE)
        status, out, _ = logs(_flipped(pen, offset, rng.randrange(1, 256), tmp_path), capsys)
        assert (status, out) == (0, intact), offset


def test_flips_anywhere_in_the_image_never_end_in_a_traceback(pen, tmp_path, capsys):
    """Metadata too: littlefs then falls back to an older commit or refuses to mount.
    Whatever is read as intact is a record the pen wrote, where it wrote it."""
    rng = random.Random(SEED + 2)
    bs = flash_image.BLOCK_SIZE
    used = [b for b in range(len(pen.image) // bs) if pen.image[b * bs:(b + 1) * bs].strip(b"\xff")]
    export = tmp_path / "any.json"
    for k in range(40):
        offset = rng.choice(used) * bs + rng.randrange(bs)
        if export.exists():
            export.unlink()
        status, out, err = logs(_flipped(pen, offset, rng.randrange(1, 256), tmp_path), capsys,
                                "--json", str(export))
        assert status in (0, 1, 2), offset
        if status == 2:
            assert err.startswith("cryopen logs: "), (offset, err)
            continue
        rows, damaged = _rows(export)
        assert (status == 1) == bool(damaged), offset
        for position, row in rows.items():
            assert pen.rows.get(position) == row, (offset, position)


def _refused(path, capsys, before=None):
    status, out, err = logs(path, capsys)
    assert status == 2, (path, out, err)
    assert err.startswith("cryopen logs: ") and err.count("\n") == 1, err
    assert out == ""
    if before is not None:
        assert open(path, "rb").read() == before, "the image was changed"
    return err


def test_a_truncated_image_is_refused_with_a_message(pen, tmp_path, capsys):
    for size in (len(pen.image) - 100, len(pen.image) // 2, flash_image.BLOCK_SIZE, 100, 0):
        path = tmp_path / ("cut%d.img" % size)
        path.write_bytes(pen.image[:size])
        _refused(path, capsys, pen.image[:size])


def test_a_file_that_is_no_image_is_refused_and_left_as_it_is(tmp_path, capsys):
    rng = random.Random(SEED)
    noise = bytes(rng.randrange(256) for _ in range(8 * flash_image.BLOCK_SIZE))
    for name, data in (("noise.img", noise), ("erased.img", b"\xff" * len(noise)),
                       ("zeros.img", bytes(len(noise))), ("notes.txt", b"not a pen\n")):
        path = tmp_path / name
        path.write_bytes(data)
        err = _refused(path, capsys, data)
        assert name in err


def test_a_directory_or_a_missing_file_is_refused_with_a_message(tmp_path, capsys):
    assert "Is a directory" in _refused(tmp_path, capsys)
    assert "no such file" in _refused(tmp_path / "missing.img", capsys)


# --- the decoders, fuzzed -----------------------------------------------------------------
def _recrc(data, size):
    body = bytes(data[:size - 4])
    return body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)


_VALUES = {"cause": record.CAUSE_POWER, "cold_start": 0, "session": 2, "applications": 4,
           "assumed": 1, "profile": "aftercare", "number": 3, "end_reason": 1,
           "length_ms": 2500, "min_cc": -180, "mean_cc": 430, "at_target_ms": 1200,
           "open_ms": 900, "gas_mg": 14, "latched": 4, "cleared": 0, "state": 4,
           "what": record.CHANGE_CLOCK, "detail": "ntp"}
_RECORDS = [record.encode(kind, 2, 24500, 1700000000 * (kind % 2),
                          tuple(_VALUES.get(n, 0) for n in record._LAYOUT[kind][1]))
            for kind in sorted(record._LAYOUT)]
_STATE = store.encode(store.State(3, 9, 2, 4, True, 12000, 5000, "aftercare"))

_edits = st.lists(st.tuples(st.integers(0, record.SIZE - 1), st.integers(0, 255)), min_size=1,
                  max_size=8)


def _decode_record(data):
    try:
        fields = record.decode(data)
    except record.RecordError:
        return None
    assert fields["kind"] in record.KIND_NAMES.values()
    return fields


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=2 * record.SIZE))
def test_random_bytes_decode_or_raise_record_error(data):
    fields = _decode_record(data)
    assert fields is None or len(data) == record.SIZE


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(_RECORDS), _edits, st.booleans())
def test_mutated_records_decode_or_raise_record_error(good, edits, fix_crc):
    bad = bytearray(good)
    for at, value in edits:
        bad[at] = value
    if fix_crc:  # past the CRC: the version, kind and payload checks
        bad = bytearray(_recrc(bad, record.SIZE))
    fields = _decode_record(bytes(bad))
    if not fix_crc and len(edits) == 1 and bytes(bad) != good:
        assert fields is None  # CRC32 catches every single-byte change


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.none(), st.binary(max_size=2 * store.SIZE)))
def test_random_bytes_decode_to_a_state_or_none(data):
    got = store.decode(data)
    assert got is None or isinstance(got, store.State)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, store.SIZE - 1), st.integers(0, 255)), min_size=1,
                max_size=8), st.booleans())
def test_mutated_states_decode_to_a_state_or_none(edits, fix_crc):
    bad = bytearray(_STATE)
    for at, value in edits:
        bad[at] = value
    if fix_crc:
        bad = bytearray(_recrc(bad, store.SIZE))
    got = store.decode(bytes(bad))
    assert got is None or (isinstance(got, store.State) and isinstance(got.profile, str))
    if not fix_crc and len(edits) == 1 and bytes(bad) != _STATE:
        assert got is None


# --- a state that cannot be read --------------------------------------------------------
class _UnreadableFs:
    """A file system whose every access fails with EIO (not ENOENT: the files may be there)."""

    def open(self, *args):
        raise OSError(5, "EIO")

    listdir = mkdir = remove = rename = open


def test_an_unreadable_state_is_a_cold_start_with_a_full_rest():
    import boards.sim.board as sim_board
    from firmware import profiles, startup, states

    started = startup.start(sim_board, profiles.builtin("moderate"), Storage(_UnreadableFs()),
                            0, record.CAUSE_POWER)
    assert started.cold_start
    assert started.pen.state == states.LOCKOUT  # a full rest before the first application
