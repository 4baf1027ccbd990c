"""Treatment profiles as data, and the loader that checks each field against
the absolute limits. A value outside a limit is refused, never clamped.

Field units are in the name (_s seconds, _c degrees C); the loaded Profile
holds integers (ms, centi-C) for the tick. Why each number: README, "Profiles",
and docs/SOURCES.md.
"""
from firmware import limits

FREEZE = "freeze"  # lesion destruction
COOLING = "cooling"  # aftercare: the skin must stay above the pigment floor

PROFILES = (
    # Single freezes: hold time counts from reaching target, as clinicians time from the ice ball.
    {"name": "short", "kind": FREEZE, "target_c": -50, "floor_c": -75, "hold_s": 5,
     "contact_s": 15, "rest_s": 5, "session_s": 120, "cycles": 4,
     "cool_window_s": 1.5, "cool_drop_c": 5, "lethal_c": -20},
    {"name": "moderate", "kind": FREEZE, "target_c": -50, "floor_c": -75, "hold_s": 10,
     "contact_s": 20, "rest_s": 5, "session_s": 120, "cycles": 4,
     "cool_window_s": 1.5, "cool_drop_c": 5, "lethal_c": -20},
    {"name": "long", "kind": FREEZE, "target_c": -50, "floor_c": -75, "hold_s": 20,
     "contact_s": 30, "rest_s": 10, "session_s": 150, "cycles": 3,
     "cool_window_s": 1.5, "cool_drop_c": 5, "lethal_c": -20},
    {"name": "very_long", "kind": FREEZE, "target_c": -50, "floor_c": -75, "hold_s": 30,
     "contact_s": 40, "rest_s": 10, "session_s": 150, "cycles": 2,
     "cool_window_s": 1.5, "cool_drop_c": 5, "lethal_c": -20},
    # Freeze-thaw-freeze: two moderate freezes with a 30 s thaw between them.
    {"name": "ftf", "kind": FREEZE, "target_c": -50, "floor_c": -75, "hold_s": 10,
     "contact_s": 20, "rest_s": 30, "session_s": 60, "cycles": 2,
     "cool_window_s": 1.5, "cool_drop_c": 5, "lethal_c": -20},
    # Darker skin: short, shallower freezes to spare melanocytes at the margin.
    {"name": "darker_skin", "kind": FREEZE, "target_c": -40, "floor_c": -60, "hold_s": 4,
     "contact_s": 10, "rest_s": 30, "session_s": 40, "cycles": 2,
     "cool_window_s": 1.5, "cool_drop_c": 5, "lethal_c": -20},
    # Aftercare after laser or peel: gentle cooling; the tip never goes below -3 C.
    {"name": "aftercare", "kind": COOLING, "target_c": 4, "floor_c": -3, "hold_s": 0,
     "contact_s": 10, "rest_s": 5, "session_s": 180, "cycles": 20,
     "cool_window_s": 2, "cool_drop_c": 3, "lethal_c": -5},
)

FIELDS = ("name", "kind", "target_c", "floor_c", "hold_s", "contact_s", "rest_s",
          "session_s", "cycles", "cool_window_s", "cool_drop_c", "lethal_c")
# Fields a profile may leave out. lethal_c: the temperature the dosimetry (the
# simulator's lethal_mm) treats as lethal; the pen itself never acts on it.
OPTIONAL = ("lethal_c",)


class ProfileError(ValueError):
    pass


class Profile:
    """A checked profile: integers in ms and centi-C, ready for the tick."""

    def __init__(self, name, kind, target_cc, floor_cc, hold_ms, contact_ms, rest_ms,
                 session_ms, cycles, cool_window_ms, cool_drop_cc, lethal_cc=None):
        self.name = name
        self.kind = kind
        self.target_cc = target_cc
        self.floor_cc = floor_cc
        self.hold_ms = hold_ms
        self.contact_ms = contact_ms
        self.rest_ms = rest_ms
        self.session_ms = session_ms
        self.cycles = cycles
        self.cool_window_ms = cool_window_ms
        self.cool_drop_cc = cool_drop_cc
        self.lethal_cc = lethal_cc  # None: the profile names no lethal temperature

    def as_dict(self):
        """The profile in its public units, for `cryopen profiles --json`."""
        d = {"name": self.name, "kind": self.kind, "target_c": self.target_cc / 100,
             "floor_c": self.floor_cc / 100, "hold_s": self.hold_ms / 1000,
             "contact_s": self.contact_ms / 1000, "rest_s": self.rest_ms / 1000,
             "session_s": self.session_ms / 1000, "cycles": self.cycles,
             "cool_window_s": self.cool_window_ms / 1000,
             "cool_drop_c": self.cool_drop_cc / 100}
        if self.lethal_cc is not None:
            d["lethal_c"] = self.lethal_cc / 100
        return d


def _number(d, field, lo, hi, lo_name, hi_name, scale):
    """Reads one field with its bounds; the message names the field and the limit."""
    name = d.get("name", "?")
    if field not in d:
        raise ProfileError("profile '%s': %s is missing" % (name, field))
    v = d[field]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ProfileError("profile '%s': %s must be a number, got %r" % (name, field, v))
    if v - v != 0:  # NaN or an infinity: neither compares as a number does
        raise ProfileError("profile '%s': %s must be a finite number, got %r" % (name, field, v))
    if v < lo:
        raise ProfileError("profile '%s': %s = %s is below %s (%s)" % (name, field, v, lo, lo_name))
    if v > hi:
        raise ProfileError("profile '%s': %s = %s is above %s (%s)" % (name, field, v, hi, hi_name))
    return int(round(v * scale))


def load(d):
    """Checks a profile dict against the absolute limits and returns a Profile."""
    if not isinstance(d, dict):
        raise ProfileError("a profile must be an object")
    name = d.get("name")
    if not isinstance(name, str) or not name:
        raise ProfileError("profile: name must be a non-empty string")
    for key in d:
        if key not in FIELDS:
            raise ProfileError("profile '%s': unknown field %s" % (name, key))
    kind = d.get("kind")
    if kind not in (FREEZE, COOLING):
        raise ProfileError("profile '%s': kind must be '%s' or '%s'" % (name, FREEZE, COOLING))
    c, s = 100, 1000
    floor = _number(d, "floor_c", limits.FLOOR_CC / c, limits.TARGET_MAX_CC / c,
                    "FLOOR_CC", "TARGET_MAX_CC", c)
    if kind == COOLING and floor < limits.PIGMENT_FLOOR_CC:
        raise ProfileError("profile '%s': floor_c = %s is below %s (PIGMENT_FLOOR_CC, required "
                           "for cooling profiles)" % (name, d["floor_c"], limits.PIGMENT_FLOOR_CC / c))
    target = _number(d, "target_c", floor / c + 1, limits.TARGET_MAX_CC / c,
                     "floor_c + 1", "TARGET_MAX_CC", c)
    contact = _number(d, "contact_s", limits.TICK_MS / s, limits.MAX_CONTACT_MS / s,
                      "one tick", "MAX_CONTACT_MS", s)
    hold = _number(d, "hold_s", 0, contact / s, "zero", "contact_s", s)
    rest = _number(d, "rest_s", limits.MIN_REST_MS / s, 3600, "MIN_REST_MS", "one hour", s)
    session = _number(d, "session_s", contact / s, limits.MAX_SESSION_MS / s,
                      "contact_s", "MAX_SESSION_MS", s)
    cycles = _number(d, "cycles", 1, limits.MAX_CYCLES, "one", "MAX_CYCLES", 1)
    if cycles != d["cycles"]:
        raise ProfileError("profile '%s': cycles must be a whole number" % name)
    window = _number(d, "cool_window_s", limits.NO_COOLING_MIN_MS / s, contact / s,
                     "NO_COOLING_MIN_MS", "contact_s", s)
    drop = _number(d, "cool_drop_c", 0.5, 30, "0.5 C", "30 C", c)
    lethal = None
    if "lethal_c" in d:
        lethal = _number(d, "lethal_c", limits.LETHAL_MIN_CC / c,
                         limits.PIGMENT_FLOOR_CC / c, "LETHAL_MIN_CC", "PIGMENT_FLOOR_CC", c)
    return Profile(name, kind, target, floor, hold, contact, rest, session, cycles, window, drop,
                   lethal)


def builtin(name):
    for d in PROFILES:
        if d["name"] == name:
            return load(d)
    raise ProfileError("no profile named '%s'; known: %s"
                       % (name, ", ".join(str(d["name"]) for d in PROFILES)))


def all_builtin():
    return [load(d) for d in PROFILES]
