"""The treatment record's format: fixed-size binary records, each with its own
CRC32, so that a torn or damaged record is found and skipped while every other
one still reads. Pure: bytes in, fields out. docs/RECORD.md is the reference.

Every record is SIZE bytes, little-endian:
    0  B  kind            (KINDS)
    1  B  format version  (VERSION)
    2  H  boot count      (which power-up wrote it)
    4  I  ms since boot   (the event's time; an application's start)
    8  I  wall time       (Unix seconds, 0 while the pen does not know the time)
   12  .. payload         (PAYLOAD bytes, by kind; zero-padded)
   60  I  CRC32 of bytes 0..59
"""
import binascii
import struct

SIZE = 64
VERSION = 1
PAYLOAD = 48
_HEAD = "<BBHII"
_HEAD_SIZE = 12
_CRC_AT = SIZE - 4

BOOT = 1
SESSION = 2
APPLICATION = 3
FAULT = 4
CHANGE = 5
KIND_NAMES = {BOOT: "boot", SESSION: "session", APPLICATION: "application", FAULT: "fault",
              CHANGE: "change"}

# Reset causes in a boot record.
CAUSE_POWER = 0
CAUSE_WATCHDOG = 1
CAUSE_DELIBERATE = 2
CAUSE_NAMES = ("power_on", "watchdog", "deliberate")

# What a change record changed.
CHANGE_PROFILE = 1
CHANGE_CONFIG = 2
CHANGE_CALIBRATION = 3
CHANGE_CLOCK = 4
CHANGE_CARTRIDGE = 5  # a new cartridge declared at the pen; detail: its size, "8000 mg"
CHANGE_DISPLAY = 6  # the display failed and is off until the next boot; detail: why, "errno 5"
CHANGE_NAMES = {CHANGE_PROFILE: "profile", CHANGE_CONFIG: "config",
                CHANGE_CALIBRATION: "calibration", CHANGE_CLOCK: "clock",
                CHANGE_CARTRIDGE: "cartridge", CHANGE_DISPLAY: "display"}

NAME_BYTES = 12  # a profile name, NUL-padded

# Payload layout and field names per kind.
_LAYOUT = {
    BOOT: ("<BBHHB", ("cause", "cold_start", "session", "applications", "assumed")),
    SESSION: ("<H12s", ("session", "profile")),
    APPLICATION: ("<HBB12sIhhIIH", ("session", "number", "end_reason", "profile", "length_ms",
                                    "min_cc", "mean_cc", "at_target_ms", "open_ms", "gas_mg")),
    FAULT: ("<IIB", ("latched", "cleared", "state")),
    CHANGE: ("<B12s", ("what", "detail")),
}


class RecordError(ValueError):
    pass


def clip_name(value):
    """A name as at most NAME_BYTES of UTF-8, never cutting a character in half."""
    data = value.encode() if isinstance(value, str) else value
    data = data[:NAME_BYTES]
    while data:
        try:
            data.decode()
            return data
        except UnicodeError:
            data = data[:-1]
    return data



def encode(kind, boot, t_ms, wall_s, values):
    """One record as bytes. values are the payload fields in _LAYOUT order."""
    fmt, _ = _LAYOUT[kind]
    values = tuple(clip_name(v) if isinstance(v, (str, bytes)) else v for v in values)
    payload = struct.pack(fmt, *values)
    body = struct.pack(_HEAD, kind, VERSION, boot & 0xFFFF, t_ms & 0xFFFFFFFF,
                       wall_s & 0xFFFFFFFF) + payload + bytes(PAYLOAD - len(payload))
    return body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)


def decode(data):
    """The record's fields as a dict, or RecordError saying what is wrong with it."""
    if len(data) != SIZE:
        raise RecordError("torn: %d of %d bytes" % (len(data), SIZE))
    (crc,) = struct.unpack("<I", data[_CRC_AT:])
    if binascii.crc32(data[:_CRC_AT]) & 0xFFFFFFFF != crc:
        raise RecordError("bad CRC")
    kind, version, boot, t_ms, wall_s = struct.unpack(_HEAD, data[:_HEAD_SIZE])
    if version != VERSION:
        raise RecordError("unknown format version %d" % version)
    if kind not in _LAYOUT:
        raise RecordError("unknown kind %d" % kind)
    fmt, names = _LAYOUT[kind]
    fields = struct.unpack(fmt, data[_HEAD_SIZE:_HEAD_SIZE + struct.calcsize(fmt)])
    out = {"kind": KIND_NAMES[kind], "boot": boot, "t_ms": t_ms, "wall_s": wall_s}
    for name, value in zip(names, fields):
        if isinstance(value, bytes):
            value = value.rstrip(b"\0").decode("utf-8", "replace")
        out[name] = value
    return out
