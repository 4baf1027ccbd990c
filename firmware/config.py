"""The clinic configuration: which profiles the mode button offers, in which
order, the one the pen starts in, and the clinic's own profiles. Every custom
profile goes through the same loader as the built-ins (firmware/profiles.py): a
value outside a limit is refused with the field and the limit, never clamped.

    {"profiles": ["aftercare", "short"], "start": "aftercare",
     "custom": [{profile fields}, ...]}

On the pen it is stored as two copies (hal/storage.py), each in this form
(docs/RECORD.md is the reference), little-endian:

    0  4s magic b"CPCF"
    4  H  format version (VERSION)
    6  H  length of the body, bytes
    8  I  sequence number: of two valid copies the higher is the newer
   12  .. body: the configuration as compact JSON, UTF-8
   ..  .. zero padding up to SIZE_MIN - 4
  -4   I  CRC32 of every byte before it

A copy that fails any check is refused with what failed; nothing here ever
falls back to another configuration (firmware/startup.py decides what the pen
does then).
"""
import json

from firmware import copies, profiles

MAX_ENABLED = 16

MAGIC = b"CPCF"
VERSION = 1
_HEAD = copies.HEAD
HEAD_SIZE = copies.HEAD_SIZE
# Every copy is at least this long: beyond littlefs's inline limit on both ports (512
# bytes at most), so it gets a data block of its own, where its own CRC finds damage.
# Kept inline in littlefs's metadata, damage would instead make littlefs fall back,
# silently, to an older commit: an older configuration, or none.
SIZE_MIN = 1024
SIZE_MAX = 4096  # one flash block, read at boot in one piece
BODY_MAX = SIZE_MAX - HEAD_SIZE - 4


class ConfigError(ValueError):
    pass


def factory(start):
    """Every built-in profile, in the table's order, starting in `start` (the first
    built-in when `start` names none)."""
    names = [d["name"] for d in profiles.PROFILES]
    return {"profiles": names, "start": start if start in names else names[0], "custom": []}


def load(d):
    """(enabled profiles as a tuple of Profile, index of the start profile)."""
    if not isinstance(d, dict):
        raise ConfigError("config must be an object")
    for key in d:
        if key not in ("profiles", "start", "custom"):
            raise ConfigError("config: unknown key %s (known: profiles, start, custom)" % key)
    custom = d.get("custom", [])
    if not isinstance(custom, list):
        raise ConfigError("config.custom must be a list of profile objects")
    known = {}
    for p in profiles.all_builtin():
        known[p.name] = p
    for i, raw in enumerate(custom):
        try:
            p = profiles.load(raw)
        except profiles.ProfileError as e:
            raise ConfigError("config.custom[%d]: %s" % (i, e))
        if p.name in known:
            raise ConfigError("config.custom[%d]: the name '%s' is taken" % (i, p.name))
        known[p.name] = p
    names = d.get("profiles")
    if not isinstance(names, list) or not names or len(names) > MAX_ENABLED:
        raise ConfigError("config.profiles must list 1 to %d profile names" % MAX_ENABLED)
    enabled = []
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in known:
            raise ConfigError("config.profiles[%d]: no profile named %r; known: %s"
                              % (i, name, ", ".join(sorted(known))))
        if known[name] in enabled:
            raise ConfigError("config.profiles[%d]: %s is listed twice" % (i, name))
        enabled.append(known[name])
    start = d.get("start", names[0])
    if start not in names:
        raise ConfigError("config.start: %r is not one of the enabled profiles (%s)"
                          % (start, ", ".join(names)))
    return tuple(enabled), names.index(start)


# --- the stored form ---------------------------------------------------------------
def encode(d, seq):
    """One stored copy of the configuration d (checked by the caller)."""
    body = json.dumps(d, separators=(",", ":")).encode()
    if len(body) > BODY_MAX:
        raise ConfigError("the configuration is %d bytes as JSON, over the %d a copy holds"
                          % (len(body), BODY_MAX))
    return copies.encode(MAGIC, VERSION, body, seq, SIZE_MIN)


def decode(data):
    """(the configuration as read, its sequence number) from one stored copy;
    ConfigError saying what is wrong with the copy otherwise. Not checked against
    the limits: read() does both."""
    n = len(data)
    if n < SIZE_MIN or n > SIZE_MAX:
        raise ConfigError("%d bytes, not %d to %d (cut short or not a configuration)"
                          % (n, SIZE_MIN, SIZE_MAX))
    return copies.decode(data, MAGIC, VERSION, ConfigError, "configuration")


def read(data):
    """(d, seq, enabled profiles, start index) from one stored copy: decoded and
    checked like any configuration; ConfigError otherwise."""
    d, seq = decode(data)
    choices, start = load(d)
    return d, seq, choices, start


class Stored:
    """The configuration the stored copies hold."""

    def __init__(self, read_, seq, data, whole):
        self.d, self.choices, self.start = read_
        self.seq = seq
        self.data = data  # the copy it was read from, as stored
        self.whole = whole  # False: a copy is missing or older (a write cut between copies)


def _read_for_choose(data):
    d, seq, choices, start = read(data)
    return (d, choices, start), seq


def choose(stored_copies):
    """The configuration in force from its copies, [(name, bytes or None where there is
    none)]: a Stored, or None when no copy exists; a copy that fails is ConfigError
    naming it (firmware/copies.py, choose)."""
    best = copies.choose(stored_copies, _read_for_choose, ConfigError)
    return None if best is None else Stored(*best)
