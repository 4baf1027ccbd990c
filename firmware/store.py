"""The pen's state as it survives a power cut: the format of one copy. Pure.

Two copies are kept (hal/storage.py writes them alternately, each by writing a
new file and renaming it over the old, which littlefs does atomically); each copy
carries a sequence number and a CRC32, and at boot the newer valid copy wins, as
in the Prusa Buddy journal's two banks. docs/RECORD.md is the reference.

    0  4s magic b"CPST"
    4  H  format version
    6  H  boot count
    8  I  sequence number
   12  H  session number
   14  B  applications in the session (with one counted ahead while armed)
   15  B  armed: an application may be under way (written before one can start)
   16  I  valve-open ms in the session
   20  I  rest owed at the next boot, ms (the active profile's rest)
   24 12s active profile name
   36  I  valve-open ms since the cartridge was fitted (the gauge); 0xFFFFFFFF: not known
   40  I  CRC32 of bytes 0..39

A version 1 copy (40 bytes: no cartridge field, its CRC at 36) still reads, with
the cartridge not known, so a firmware update keeps the session.
"""
import binascii
import struct

from firmware import record

MAGIC = b"CPST"
VERSION = 2
SIZE = 44
_FMT = "<4sHHIHBBII12sI"
_V1_SIZE = 40
_V1_FMT = "<4sHHIHBBII12s"
_UNKNOWN = 0xFFFFFFFF


class State:
    """What the pen keeps across a power cut."""

    def __init__(self, boot_count=0, seq=0, session=1, applications=0, armed=False, open_ms=0,
                 rest_ms=0, profile="", cartridge_ms=-1):
        self.boot_count = boot_count
        self.seq = seq
        self.session = session
        self.applications = applications
        self.armed = armed
        self.open_ms = open_ms
        self.rest_ms = rest_ms
        self.profile = profile
        self.cartridge_ms = cartridge_ms  # the gauge's count (firmware/gauge.py); -1: not known

    def __eq__(self, other):
        return isinstance(other, State) and self.fields() == other.fields()

    def fields(self):
        return (self.boot_count, self.seq, self.session, self.applications, self.armed,
                self.open_ms, self.rest_ms, self.profile, self.cartridge_ms)


def encode(state):
    body = struct.pack(_FMT, MAGIC, VERSION, state.boot_count & 0xFFFF, state.seq & 0xFFFFFFFF,
                       state.session & 0xFFFF, min(state.applications, 255),
                       1 if state.armed else 0, state.open_ms & 0xFFFFFFFF,
                       state.rest_ms & 0xFFFFFFFF, record.clip_name(state.profile),
                       state.cartridge_ms if 0 <= state.cartridge_ms < _UNKNOWN else _UNKNOWN)
    return body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)


def decode(data):
    """A State, or None when the copy is not valid (torn, damaged, another format)."""
    if data is None:
        return None
    size = len(data)
    if size == SIZE:
        fmt, known = _FMT, VERSION
    elif size == _V1_SIZE:
        fmt, known = _V1_FMT, 1
    else:
        return None
    (crc,) = struct.unpack("<I", data[size - 4:])
    if binascii.crc32(data[:size - 4]) & 0xFFFFFFFF != crc:
        return None
    fields = struct.unpack(fmt, data[:size - 4])
    magic, version, boot, seq, session, apps, armed, open_ms, rest_ms, name = fields[:10]
    if magic != MAGIC or version != known or armed > 1:
        return None
    cartridge_ms = fields[10] if size == SIZE and fields[10] != _UNKNOWN else -1
    try:
        profile = name.rstrip(b"\0").decode()
    except UnicodeError:
        return None
    return State(boot, seq, session, apps, armed == 1, open_ms, rest_ms, profile, cartridge_ms)


def newest(copies):
    """The valid copy with the highest sequence number, or None (a cold start)."""
    best = None
    for data in copies:
        s = decode(data)
        if s is not None and (best is None or s.seq > best.seq):
            best = s
    return best
