"""Helpers for tests that run under both CPython (pytest) and MicroPython."""


def raises(exc, fn, *args):
    """Calls fn(*args) and returns the exception of type exc it raised; fails otherwise."""
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s did not raise %s" % (getattr(fn, "__name__", fn), exc.__name__))


def without_allocating(fn, *args):
    """fn(*args) with MicroPython's heap locked, so that any allocation in it raises
    MemoryError; under CPython just the call. Returns what fn returned."""
    try:
        import micropython
    except ImportError:
        return fn(*args)
    micropython.heap_lock()
    try:
        return fn(*args)
    finally:
        micropython.heap_unlock()


def with_crc(data):
    """data with its last four bytes made the CRC-32 of the rest, as a stored copy
    (firmware/copies.py) ends: damage the CRC then does not catch."""
    import binascii
    import struct

    body = bytes(data[:len(data) - 4])
    return body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)


def assert_copy_refusals(good, magic, other_version, problem):
    """A stored copy (firmware/copies.py) whose CRC is right over foreign content is
    refused saying what is wrong: problem(copy) is the refusal's text."""
    import struct

    from firmware.copies import HEAD_SIZE

    cases = (
        (0, magic, "copy"),  # another kind of copy's magic: "not a ... copy"
        (4, struct.pack("<H", other_version), "unknown format version %d" % other_version),
        (6, struct.pack("<H", len(good)), "does not fit"),
        (6, struct.pack("<H", 10), "does not fit"),  # the body's tail would be padding
        (HEAD_SIZE, b"\xff\xfe", "not JSON"),  # not UTF-8
        (HEAD_SIZE, b"x", "not JSON"),
    )
    for at, value, said in cases:
        bad = bytearray(good)
        bad[at:at + len(value)] = value
        assert said in problem(with_crc(bad)), (at, said)
    bad = bytearray(good)
    bad[len(bad) - 10] = 1  # the padding must be zeros
    assert "does not fit" in problem(with_crc(bad))


def flip_bit(path, at):
    """Damages a file on the (device's) file system: the low bit of its byte at."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    data[at] ^= 1
    with open(path, "wb") as f:
        f.write(data)
