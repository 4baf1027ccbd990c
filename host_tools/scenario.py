"""Scenario files: the public input format of `cryopen simulate`.

    {"name": str, "profile": "moderate" | {profile fields},
     "duration_s": number, "plant": {plant parameter overrides},
     "events": [{"t": 1.0, "trigger": true}, {"t": 5.0, "fault": "thermistor_open"},
                {"t": 6.0, "clear": "thermistor_open"}, {"t": 7.0, "reset": true},
                {"t": 8.0, "contact": false}, {"t": 8.5, "tilted": true},
                {"t": 9.0, "fault": "loop_hang", "for_s": 2.0, "where": "c"},
                {"t": 10.0, "fault": "thermistor_drift", "offset_c": 10, "sensor": 2}]}

A hang ends after for_s, at a watchdog reset, or at {"clear": "loop_hang"}; "where"
says where the loop hangs: "python" (the default), "c" (inside a C call) or
"irq_off" (interrupts masked). The thermistor_* faults take "sensor" (1, the
default, or 2); thermistor_drift needs "offset_c" (the reading's error in C).

Every problem is a ScenarioError with a message that says where it is.
"""
import json

from firmware import profiles
from hal.fake import FAULTS, HANG_PYTHON, HANG_WHERE, SENSOR_FAULTS
from hal.plant import checked_params

HOST_FAULTS = ("loop_hang",)  # the main loop is not called; hardware still acts
MAX_DURATION_S = 3600
MAX_OFFSET_C = 100  # a drift beyond this reads outside the plausible range anyway
_EXTRA_KEYS = ("t", "for_s", "where", "sensor", "offset_c")
_TOP_KEYS = {"name": str, "profile": (str, dict), "duration_s": (int, float),
             "plant": dict, "events": list}
_REQUIRED = ("name", "profile", "duration_s", "events")
# action key -> allowed value type
_ACTIONS = {"trigger": bool, "fault": str, "clear": str, "reset": bool, "contact": bool,
            "tilted": bool, "power": bool}


class ScenarioError(ValueError):
    pass


class Event:
    def __init__(self, t_s, action, value, for_s=None, where=HANG_PYTHON, sensor=None,
                 offset_c=None):
        self.t_s = t_s
        self.action = action
        self.value = value
        self.for_s = for_s
        self.where = where
        self.sensor = sensor
        self.offset_c = offset_c


class Scenario:
    def __init__(self, name, profile, duration_s, plant, events):
        self.name = name
        self.profile = profile
        self.duration_s = duration_s
        self.plant = plant
        self.events = events


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_type(where, key, value, expected):
    ok = _is_number(value) if expected == (int, float) else (
        isinstance(value, expected) and (expected is not int or not isinstance(value, bool)))
    if not ok:
        names = expected.__name__ if isinstance(expected, type) else " or ".join(
            t.__name__ for t in expected)
        raise ScenarioError("%s: %s must be %s, got %r" % (where, key, names, value))


def _event(i, raw, duration_s):
    where = "events[%d]" % i
    if not isinstance(raw, dict):
        raise ScenarioError("%s must be an object" % where)
    if "t" not in raw:
        raise ScenarioError("%s: t is missing" % where)
    _check_type(where, "t", raw["t"], (int, float))
    t = float(raw["t"])
    if not 0 <= t <= duration_s:
        raise ScenarioError("%s: t = %s is outside 0..duration_s (%s)" % (where, t, duration_s))
    actions = [k for k in raw if k in _ACTIONS]
    unknown = [k for k in raw if k not in _ACTIONS and k not in _EXTRA_KEYS]
    if unknown:
        raise ScenarioError("%s: unknown key %s (known: %s, %s)"
                            % (where, unknown[0], ", ".join(_EXTRA_KEYS), ", ".join(_ACTIONS)))
    if len(actions) != 1:
        raise ScenarioError("%s: needs exactly one of %s" % (where, ", ".join(_ACTIONS)))
    action = actions[0]
    value = raw[action]
    _check_type(where, action, value, _ACTIONS[action])
    for_s = raw.get("for_s")
    if action in ("fault", "clear") and value not in FAULTS + HOST_FAULTS:
        raise ScenarioError("%s: unknown fault %r (known: %s)"
                            % (where, value, ", ".join(FAULTS + HOST_FAULTS)))
    if action == "reset" and value is not True:
        raise ScenarioError("%s: reset must be true" % where)
    if value == "loop_hang" and action == "fault":
        if for_s is None:
            raise ScenarioError("%s: loop_hang needs for_s" % where)
        _check_type(where, "for_s", for_s, (int, float))
        if not 0 < for_s <= MAX_DURATION_S:  # NaN fails both comparisons
            raise ScenarioError("%s: for_s = %r is outside 0..%d" % (where, for_s, MAX_DURATION_S))
    elif for_s is not None:
        raise ScenarioError("%s: for_s goes only with fault loop_hang" % where)
    hang_where = raw.get("where", HANG_PYTHON)
    if "where" in raw and not (action == "fault" and value == "loop_hang"):
        raise ScenarioError("%s: where goes only with fault loop_hang" % where)
    if hang_where not in HANG_WHERE:
        raise ScenarioError("%s: where = %r is not one of %s"
                            % (where, hang_where, ", ".join(HANG_WHERE)))
    sensor = raw.get("sensor")
    if sensor is not None:
        if value not in SENSOR_FAULTS:
            raise ScenarioError("%s: sensor goes only with a thermistor fault" % where)
        _check_type(where, "sensor", sensor, int)
        if sensor not in (1, 2):
            raise ScenarioError("%s: sensor = %r is not 1 or 2" % (where, sensor))
    offset_c = raw.get("offset_c")
    if action == "fault" and value == "thermistor_drift":
        if offset_c is None:
            raise ScenarioError("%s: thermistor_drift needs offset_c" % where)
        _check_type(where, "offset_c", offset_c, (int, float))
        if not -MAX_OFFSET_C <= offset_c <= MAX_OFFSET_C:
            raise ScenarioError("%s: offset_c = %r is outside -%d..%d"
                                % (where, offset_c, MAX_OFFSET_C, MAX_OFFSET_C))
    elif offset_c is not None:
        raise ScenarioError("%s: offset_c goes only with fault thermistor_drift" % where)
    return Event(t, action, value, for_s, hang_where, sensor, offset_c)


def from_dict(d):
    if not isinstance(d, dict):
        raise ScenarioError("a scenario must be a JSON object")
    for key in d:
        if key not in _TOP_KEYS:
            raise ScenarioError("unknown key %s (known: %s)" % (key, ", ".join(_TOP_KEYS)))
    for key in _REQUIRED:
        if key not in d:
            raise ScenarioError("%s is missing" % key)
    for key, value in d.items():
        _check_type("scenario", key, value, _TOP_KEYS[key])
    duration = float(d["duration_s"])
    if not 0 < duration <= MAX_DURATION_S:
        raise ScenarioError("duration_s = %s is outside 0..%d" % (duration, MAX_DURATION_S))
    try:
        prof = profiles.builtin(d["profile"]) if isinstance(d["profile"], str) \
            else profiles.load(d["profile"])
    except profiles.ProfileError as e:
        raise ScenarioError(str(e))
    try:
        checked_params(d.get("plant", {}))
    except ValueError as e:
        raise ScenarioError("plant: %s" % e)
    events = [_event(i, e, duration) for i, e in enumerate(d["events"])]
    for i in range(1, len(events)):
        if events[i].t_s < events[i - 1].t_s:
            raise ScenarioError("events[%d]: t = %s is earlier than the event before it (%s)"
                                % (i, events[i].t_s, events[i - 1].t_s))
    return Scenario(d["name"], prof, duration, d.get("plant", {}), events)


def load(path):
    try:
        with open(path) as f:
            d = json.load(f)
    except OSError as e:
        raise ScenarioError("cannot read %s: %s" % (path, e.strerror))
    except json.JSONDecodeError as e:
        raise ScenarioError("%s is not valid JSON: %s" % (path, e))
    return from_dict(d)
