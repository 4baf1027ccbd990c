"""One copy of the pen's stored state (firmware/store.py): it round-trips, any
damage makes it invalid (None), and of two copies the newer valid one wins.
Runs under CPython and under MicroPython (tests/mpy/run.mjs)."""
import binascii
import struct

from firmware import store


def _state(seq=5, **kw):
    s = store.State(boot_count=12, seq=seq, session=3, applications=4, armed=True,
                    open_ms=61000, rest_ms=30000, profile="darker_skin")
    for k in kw:
        setattr(s, k, kw[k])
    return s


def _recrc(data):
    body = bytes(data[:store.SIZE - 4])
    return body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)


def test_a_state_round_trips():
    for s in (_state(), store.State(), _state(seq=4294967295, boot_count=65535, session=65535,
                                              applications=255, armed=False,
                                              open_ms=4294967295, rest_ms=0,
                                              profile="twelve_bytes")):
        data = store.encode(s)
        assert len(data) == store.SIZE
        got = store.decode(data)
        assert got == s, (got.fields(), s.fields())


def test_applications_saturate_and_long_names_are_cut():
    got = store.decode(store.encode(_state(applications=300, profile="a_very_long_name")))
    assert got.applications == 255
    assert got.profile == "a_very_long_"


def test_every_single_flipped_bit_makes_the_copy_invalid():
    good = store.encode(_state())
    for byte in range(store.SIZE):
        for bit in range(8):
            bad = bytearray(good)
            bad[byte] ^= 1 << bit
            assert store.decode(bytes(bad)) is None, (byte, bit)


def test_a_torn_missing_or_foreign_copy_is_invalid():
    good = store.encode(_state())
    assert store.decode(None) is None
    for n in range(store.SIZE):
        assert store.decode(good[:n]) is None, n
    assert store.decode(good + b"\0") is None
    assert store.decode(b"\xff" * store.SIZE) is None
    for at, value in ((0, ord("X")), (4, store.VERSION + 1), (15, 2)):  # magic, version, armed
        bad = bytearray(good)
        bad[at] = value
        assert store.decode(_recrc(bad)) is None, at
    bad = bytearray(good)
    bad[24:28] = b"\xff\xfe\xfd\xfc"  # a profile name that is not UTF-8
    assert store.decode(_recrc(bad)) is None


def test_the_newer_of_two_valid_copies_wins_in_either_slot():
    old, new = store.encode(_state(seq=6, session=1)), store.encode(_state(seq=7, session=2))
    for copies in ([old, new], [new, old]):
        got = store.newest(copies)
        assert (got.seq, got.session) == (7, 2)


def test_a_damaged_newer_copy_falls_back_to_the_older():
    old, new = store.encode(_state(seq=6, session=1)), store.encode(_state(seq=7, session=2))
    for at in (0, 8, 12, 30, store.SIZE - 1):
        bad = bytearray(new)
        bad[at] ^= 0x40
        for copies in ([old, bytes(bad)], [bytes(bad), old], [old, bad[:20]], [None, old]):
            got = store.newest(copies)
            assert (got.seq, got.session) == (6, 1), at


def test_no_valid_copy_is_none():
    assert store.newest([None, None]) is None
    assert store.newest([b"", b"\xff" * store.SIZE]) is None


def test_a_long_name_is_cut_between_characters_and_reads_back():
    state = store.State(profile="aaaaaaaaaaa\u00e9")  # the accent straddles byte 12
    back = store.decode(store.encode(state))
    assert back is not None and back.profile == "aaaaaaaaaaa"
