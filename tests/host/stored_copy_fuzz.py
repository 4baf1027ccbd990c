"""What the fuzz tests of the pen's stored copies share (the clinic configuration,
tests/host/test_stored_config.py; the calibration, tests/host/test_stored_calibration.py):
both are a header, a JSON body, zero padding and a CRC-32 over all of it."""
import binascii
import struct

from hypothesis import strategies as st


def json_values(*specials):
    """Any JSON value, nested a little, with the numbers that break readers and the
    reader's own words (specials) among the leaves."""
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
        | st.sampled_from((float("nan"), float("inf"), -float("inf"), 10 ** 30, 1e308, 1e-308,
                           0.0) + specials),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                     max_size=3),
        max_leaves=6)


def damaged(good, edits, fix_crc, cut):
    """good with the bytes at edits (offset, value) changed, its CRC made right again if
    fix_crc (so the damage reaches past it), then cut to cut bytes."""
    bad = bytearray(good)
    for at, value in edits:
        bad[at % len(bad)] = value
    if fix_crc:
        body = bytes(bad[:-4])
        bad = bytearray(body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF))
    return bytes(bad[:cut])


def damage(good_copies, size):
    """The strategy of damaged()'s arguments for copies of at least size bytes."""
    return dict(good=st.sampled_from(good_copies),
                edits=st.lists(st.tuples(st.integers(0, size - 1), st.integers(0, 255)),
                               min_size=1, max_size=8),
                fix_crc=st.booleans(), cut=st.integers(0, size + 8))


def must_be_refused(good, edits, fix_crc, cut):
    """A change the CRC was not made right for, to a whole copy: CRC-32 finds every change
    of up to 4 bytes in a row and most others."""
    whole = damaged(good, edits, False, len(good))
    return not fix_crc and whole != good and cut >= len(good)
