"""The treatment record's format (firmware/record.py): every kind round-trips, and a
damaged, torn or foreign record is refused with RecordError, never misread.
Runs under CPython and under MicroPython (tests/mpy/run.mjs)."""
import binascii
import struct

from firmware import record
from tests.core.support import raises

# A value for each struct code that uses most of its range.
_SAMPLE = {"B": 201, "H": 60001, "I": 4000000001, "h": -12345, "12s": "aftercare"}


def _codes(fmt):
    """The struct codes of a payload format, '12s' kept whole."""
    codes = []
    i = 1  # after "<"
    while i < len(fmt):
        if fmt[i].isdigit():
            j = i
            while fmt[j].isdigit():
                j += 1
            codes.append(fmt[i:j + 1])
            i = j + 1
        else:
            codes.append(fmt[i])
            i += 1
    return codes


def _sample(kind):
    fmt, names = record._LAYOUT[kind]
    values = [_SAMPLE[c] for c in _codes(fmt)]
    assert len(values) == len(names)
    return values


def _recrc(body):
    """A record whose CRC is right for its (altered) first 60 bytes."""
    body = bytes(body[:record.SIZE - 4])
    return body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)


def _application():
    return record.encode(record.APPLICATION, 7, 123456, 1700000000, (
        3, 2, 1, "moderate", 14500, -5120, -4630, 9000, 12000, 180))


def test_every_kind_round_trips():
    assert sorted(record.KIND_NAMES) == sorted(record._LAYOUT)
    for kind in record._LAYOUT:
        fmt, names = record._LAYOUT[kind]
        assert struct.calcsize(fmt) <= record.PAYLOAD, kind
        values = _sample(kind)
        data = record.encode(kind, 65535, 4294967295, 1700000000, values)
        assert len(data) == record.SIZE
        got = record.decode(data)
        assert got["kind"] == record.KIND_NAMES[kind]
        assert (got["boot"], got["t_ms"], got["wall_s"]) == (65535, 4294967295, 1700000000)
        for name, value in zip(names, values):
            assert got[name] == value, (kind, name, got[name], value)
        assert sorted(got) == sorted(["kind", "boot", "t_ms", "wall_s"] + list(names))


def test_an_application_record_reads_back_as_written():
    got = record.decode(_application())
    assert got == {"kind": "application", "boot": 7, "t_ms": 123456, "wall_s": 1700000000,
                   "session": 3, "number": 2, "end_reason": 1, "profile": "moderate",
                   "length_ms": 14500, "min_cc": -5120, "mean_cc": -4630,
                   "at_target_ms": 9000, "open_ms": 12000, "gas_mg": 180}


def test_header_counters_wrap_to_their_width_and_names_are_cut_to_twelve_bytes():
    data = record.encode(record.SESSION, 65536 + 5, (1 << 32) + 9, 0,
                         (4, "a_very_long_profile_name"))
    got = record.decode(data)
    assert (got["boot"], got["t_ms"], got["wall_s"]) == (5, 9, 0)
    assert got["profile"] == "a_very_long_"
    assert len(got["profile"]) == record.NAME_BYTES


def test_the_payload_padding_is_zero():
    for kind in record._LAYOUT:
        data = record.encode(kind, 1, 2, 3, _sample(kind))
        used = 12 + struct.calcsize(record._LAYOUT[kind][0])
        assert data[used:record.SIZE - 4] == bytes(record.SIZE - 4 - used), kind


def test_the_crc_catches_every_single_flipped_bit():
    good = _application()
    caught = 0
    for byte in range(record.SIZE):
        for bit in range(8):
            bad = bytearray(good)
            bad[byte] ^= 1 << bit
            e = raises(record.RecordError, record.decode, bytes(bad))
            assert "CRC" in str(e), (byte, bit, str(e))
            caught += 1
    assert caught == record.SIZE * 8


def test_a_record_of_another_format_version_is_refused_and_says_which():
    for version in (0, record.VERSION + 1, 255):
        bad = bytearray(_application())
        bad[1] = version
        e = raises(record.RecordError, record.decode, _recrc(bad))
        assert "version %d" % version in str(e), str(e)


def test_an_unknown_kind_is_refused():
    for kind in (0, 6, 255):
        bad = bytearray(_application())
        bad[0] = kind
        e = raises(record.RecordError, record.decode, _recrc(bad))
        assert "kind %d" % kind in str(e), str(e)


def test_a_torn_record_is_refused_with_its_length():
    good = _application()
    for n in range(record.SIZE):
        e = raises(record.RecordError, record.decode, good[:n])
        assert str(e) == "torn: %d of %d bytes" % (n, record.SIZE), str(e)
    raises(record.RecordError, record.decode, good + b"\0")


def test_an_erased_record_slot_is_refused():
    raises(record.RecordError, record.decode, b"\xff" * record.SIZE)
    raises(record.RecordError, record.decode, bytes(record.SIZE))
