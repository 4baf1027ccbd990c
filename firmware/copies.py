"""The stored form the clinic configuration (firmware/config.py) and the calibration
(firmware/calibration.py) share: a header (magic, format version, body length,
sequence number), a JSON body, zeros, and a CRC-32 over all of it (docs/RECORD.md).
Each is kept as two copies; choose() says which one is in force.

Pure: bytes in, values or the caller's error out. Runs between ticks only."""
import binascii
import json
import struct

HEAD = "<4sHHI"
HEAD_SIZE = 12


def encode(magic, version, body, seq, size):
    """One copy of body (JSON bytes the caller has checked fit), padded with zeros to
    size bytes when shorter."""
    data = struct.pack(HEAD, magic, version, len(body), seq & 0xFFFFFFFF) + body
    pad = size - 4 - len(data)
    if pad > 0:
        data += bytes(pad)
    return data + struct.pack("<I", binascii.crc32(data) & 0xFFFFFFFF)


def decode(data, magic, version, error, what):
    """(the JSON value, the sequence number) of one copy whose size the caller has
    checked; error(message) saying what is wrong with it otherwise."""
    n = len(data)
    (crc,) = struct.unpack("<I", data[n - 4:])
    if binascii.crc32(data[:n - 4]) & 0xFFFFFFFF != crc:
        raise error("bad CRC")
    got, got_version, length, seq = struct.unpack(HEAD, data[:HEAD_SIZE])
    if got != magic:
        raise error("not a %s copy" % what)
    if got_version != version:
        raise error("unknown format version %d" % got_version)
    end = HEAD_SIZE + length
    if end > n - 4 or data[end:n - 4] != bytes(n - 4 - end):
        raise error("length %d does not fit the copy's %d bytes" % (length, n))
    try:
        d = json.loads(data[HEAD_SIZE:end].decode())
    except (ValueError, RuntimeError):  # UnicodeError is a ValueError; deep nesting a RuntimeError
        raise error("the stored text is not JSON")
    return d, seq


def choose(copies, read, error):
    """The newest copy of [(name, bytes or None where there is none)], read with
    read(bytes) -> (value, seq): (value, seq, its bytes, whole), or None when no copy
    exists. whole is False when a copy is missing or older (a write cut between
    copies). A copy that fails, whatever its twin holds, is error naming it: littlefs
    replaces each copy whole, so a power cut leaves every copy valid, and a copy that
    fails is damage that may have held a newer value than its twin."""
    best = None
    found = 0
    for name, data in copies:
        if data is None:
            continue
        found += 1
        try:
            value, seq = read(data)
        except error as e:
            raise error("%s: %s" % (name, e))
        if best is None or seq > best[1]:
            best = [value, seq, data, best is None or best[1] == seq]
        elif seq != best[1]:
            best[3] = False
    if best is None:
        return None
    return best[0], best[1], best[2], best[3] and found == len(copies)
