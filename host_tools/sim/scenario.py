"""Scenario files: the public input format of `cryopen simulate`.

    {"name": str, "profile": "moderate" | {profile fields},
     "duration_s": number, "plant": {plant parameter overrides},
     "events": [{"t": 1.0, "trigger": true}, {"t": 5.0, "fault": "thermistor_open"},
                {"t": 6.0, "clear": "thermistor_open"}, {"t": 7.0, "reset": true},
                {"t": 8.0, "contact": false}, {"t": 8.5, "tilted": true},
                {"t": 9.0, "fault": "loop_hang", "for_s": 2.0, "where": "c"},
                {"t": 10.0, "fault": "thermistor_drift", "offset_c": 10, "sensor": 2},
                {"t": 12.0, "cartridge": "new"}]}

A hang ends after for_s, at a watchdog reset, or at {"clear": "loop_hang"}; "where"
says where the loop hangs: "python" (the default), "c" (inside a C call) or
"irq_off" (interrupts masked). The thermistor_* faults take "sensor" (1, the
default, or 2); thermistor_drift needs "offset_c" (the reading's error in C).

The clinic configuration ("config", or "profile" alone: a configuration of that
one profile) reaches the pen through its flash, as a clinic stores it; the pen
boots from what its flash holds. "stored_config" says what that is: "written"
(the default), "kept" (nothing written: what an image given with --flash holds),
"corrupt" (written, then a byte of each copy damaged: bad CRC) or "invalid"
(written with an intact CRC but naming a profile this firmware lacks).

Every problem is a ScenarioError with a message that names the file and where in
it: the line for text that is not JSON, the field for a value that is refused.
NaN and Infinity, which Python's JSON reader accepts, are refused in every field.
"""
import json
import math
import re
import reprlib
import sys

from firmware import config, profiles
from hal.fake import FAULTS, HANG_PYTHON, HANG_WHERE, SENSOR_FAULTS
from host_tools.sim.plant import checked_params
from host_tools import text_file

HOST_FAULTS = ("loop_hang",)  # the main loop is not called; hardware still acts
MAX_DURATION_S = 3600
MAX_OFFSET_C = 100  # a drift beyond this reads outside the plausible range anyway
_EXTRA_KEYS = ("t", "for_s", "where", "sensor", "offset_c")
_TOP_KEYS = {"name": str, "profile": (str, dict), "duration_s": (int, float),
             "plant": dict, "events": list, "config": dict, "stored_config": str}
# What the simulated pen's flash holds at its first boot (README, "Scenario files").
STORED_CONFIG = ("written", "kept", "corrupt", "invalid")
_REQUIRED = ("name", "duration_s", "events")  # and a profile, or a config to start from
# action key -> allowed value type
_ACTIONS = {"trigger": bool, "mode": bool, "fault": str, "clear": str, "reset": bool,
            "contact": bool,
            "tilted": bool, "power": bool,
            "cartridge": str}  # "new": a full cartridge, and the gesture that declares it


class ScenarioError(ValueError):
    pass


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60
_REPR.maxlevel = 3


def _shown(v):
    """A value for a message: short, however long or deep the value is."""
    return _REPR.repr(v)


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
    def __init__(self, name, profile, duration_s, plant, events, choices=None, config=None,
                 stored_config="written"):
        self.name = name
        self.profile = profile  # the profile the pen starts in
        self.duration_s = duration_s
        self.plant = plant
        self.events = events
        self.choices = choices or (profile,)  # the profiles the mode button offers
        # The clinic configuration the simulator stores on the pen before it boots, and
        # how (STORED_CONFIG): the pen reads it as it reads its flash on the device.
        self.config = config
        self.stored_config = stored_config


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_type(where, key, value, expected):
    ok = _is_number(value) if expected == (int, float) else (
        isinstance(value, expected) and (expected is not int or not isinstance(value, bool)))
    if not ok:
        names = expected.__name__ if isinstance(expected, type) else " or ".join(
            t.__name__ for t in expected)
        raise ScenarioError("%s: %s must be %s, got %s" % (where, key, names, _shown(value)))


def _spelled(v):
    """A number as the scenario file spells it: NaN, Infinity, or its digits."""
    if isinstance(v, float) and not math.isfinite(v):
        return json.dumps(v)
    text = repr(v)
    return text if len(text) <= 24 else "%s... (%d digits)" % (text[:12], len(text))


def _unreadable_number(where, key, v):
    """A message when v is a number no check can compare: NaN, an infinity, or an
    integer too large for a float; None otherwise."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        if math.isfinite(float(v)):
            return None
    except OverflowError:
        problem = "%s = %s is too large" % (key, _spelled(v))
    else:
        problem = "%s = %s is not a finite number" % (key, _spelled(v))
    return problem if where == "scenario" else "%s: %s" % (where, problem)


def _check_numbers(d):
    """Refuses the first number anywhere in the scenario that no range check could
    judge, naming where it is (events[2]: for_s, profile: floor_c, plant: ...).
    Iterative: a document nested as deep as the JSON reader allows is walked too."""
    stack = [("scenario", key, value) for key, value in reversed(list(d.items()))]
    while stack:
        where, key, v = stack.pop()
        problem = _unreadable_number(where, key, v)
        if problem:
            raise ScenarioError(problem)
        if isinstance(v, dict):
            inner = key if where == "scenario" else "%s: %s" % (where, key)
            stack.extend((inner, k, x) for k, x in reversed(list(v.items())))
        elif isinstance(v, list):
            items = []
            for i, x in enumerate(v):
                if where == "scenario" and key == "events" and isinstance(x, dict):
                    items += [("events[%d]" % i, k, y) for k, y in x.items()]
                else:
                    items.append((where, "%s[%d]" % (key, i), x))
            stack.extend(reversed(items))


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
        raise ScenarioError("%s: unknown fault %s (known: %s)"
                            % (where, _shown(value), ", ".join(FAULTS + HOST_FAULTS)))
    if action == "reset" and value is not True:
        raise ScenarioError("%s: reset must be true" % where)
    if action == "cartridge" and value != "new":
        raise ScenarioError("%s: cartridge = %s: the one value is \"new\"" % (where, _shown(value)))
    if value == "loop_hang" and action == "fault":
        if for_s is None:
            raise ScenarioError("%s: loop_hang needs for_s" % where)
        _check_type(where, "for_s", for_s, (int, float))
        if not for_s > 0:
            raise ScenarioError("%s: for_s = %s must be above 0" % (where, _shown(for_s)))
        if not for_s <= MAX_DURATION_S:
            raise ScenarioError("%s: for_s = %s is above %d (the longest scenario)"
                                % (where, _shown(for_s), MAX_DURATION_S))
    elif for_s is not None:
        raise ScenarioError("%s: for_s goes only with fault loop_hang" % where)
    hang_where = raw.get("where", HANG_PYTHON)
    if "where" in raw and not (action == "fault" and value == "loop_hang"):
        raise ScenarioError("%s: where goes only with fault loop_hang" % where)
    if hang_where not in HANG_WHERE:
        raise ScenarioError("%s: where = %s is not one of %s"
                            % (where, _shown(hang_where), ", ".join(HANG_WHERE)))
    sensor = raw.get("sensor")
    if sensor is not None:
        if value not in SENSOR_FAULTS:
            raise ScenarioError("%s: sensor goes only with a thermistor fault" % where)
        _check_type(where, "sensor", sensor, int)
        if sensor not in (1, 2):
            raise ScenarioError("%s: sensor = %s is not 1 or 2" % (where, _shown(sensor)))
    offset_c = raw.get("offset_c")
    if action == "fault" and value == "thermistor_drift":
        if offset_c is None:
            raise ScenarioError("%s: thermistor_drift needs offset_c" % where)
        _check_type(where, "offset_c", offset_c, (int, float))
        if not -MAX_OFFSET_C <= offset_c <= MAX_OFFSET_C:
            raise ScenarioError("%s: offset_c = %s is outside -%d..%d"
                                % (where, _shown(offset_c), MAX_OFFSET_C, MAX_OFFSET_C))
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
    _check_numbers(d)
    for key, value in d.items():
        _check_type("scenario", key, value, _TOP_KEYS[key])
    duration = float(d["duration_s"])
    if not duration > 0:
        raise ScenarioError("duration_s = %s must be above 0" % _spelled(d["duration_s"]))
    if not duration <= MAX_DURATION_S:
        raise ScenarioError("duration_s = %s is above %d (the longest scenario)"
                            % (_spelled(d["duration_s"]), MAX_DURATION_S))
    prof, choices, clinic = _profiles(d)
    stored = d.get("stored_config", "written")
    if stored not in STORED_CONFIG:
        raise ScenarioError("stored_config = %s is not one of %s"
                            % (_shown(stored), ", ".join(STORED_CONFIG)))
    try:
        checked_params(d.get("plant", {}))
    except ValueError as e:
        raise ScenarioError("plant: %s" % e)
    events = [_event(i, e, duration) for i, e in enumerate(d["events"])]
    for i in range(1, len(events)):
        if events[i].t_s < events[i - 1].t_s:
            raise ScenarioError("events[%d]: t = %s is earlier than the event before it (%s)"
                                % (i, events[i].t_s, events[i - 1].t_s))
    return Scenario(d["name"], prof, duration, d.get("plant", {}), events, choices, clinic,
                    stored)


def _profiles(d):
    """The start profile, the profiles on offer and the clinic configuration to store:
    from the clinic "config" (whose start "profile" may name again), or from "profile"
    alone, a configuration of that one profile."""
    if "config" not in d:
        if "profile" not in d:
            raise ScenarioError("profile is missing (or give a config)")
        try:
            prof = profiles.builtin(d["profile"]) if isinstance(d["profile"], str) \
                else profiles.load(d["profile"])
        except profiles.ProfileError as e:
            raise ScenarioError(str(e))
        clinic = {"profiles": [prof.name], "start": prof.name, "custom": []}
        if isinstance(d["profile"], dict):
            builtin = [p for p in profiles.all_builtin() if p.name == prof.name]
            if builtin and vars(builtin[0]) != vars(prof):
                raise ScenarioError("profile: '%s' is a built-in profile's name; an inline "
                                    "profile that differs needs a name of its own" % prof.name)
            if not builtin:
                clinic["custom"] = [d["profile"]]
        _storable(clinic, "profile")
        return prof, None, clinic
    try:
        choices, start = config.load(d["config"])
    except config.ConfigError as e:
        raise ScenarioError(str(e))
    if "profile" in d and d["profile"] != choices[start].name:
        raise ScenarioError("profile = %r: with a config the pen starts in config.start (%s)"
                            % (d["profile"], choices[start].name))
    _storable(d["config"], "config")
    return choices[start], choices, d["config"]


def _storable(clinic, where):
    """The pen stores the configuration in a bounded copy (firmware/config.py)."""
    try:
        config.encode(clinic, 0)
    except config.ConfigError as e:
        raise ScenarioError("%s: %s" % (where, e))


def _line_col(text, index):
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def _deepest(text, limit=200):
    """Where brackets first nest deeper than limit, outside strings: (line, column)."""
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return _line_col(text, i)
        elif ch in "]}":
            depth -= 1
    return _line_col(text, len(text))


def parse(path, data):
    """The JSON document in data (bytes read from path); ScenarioError naming the
    line where it is not UTF-8 or not JSON."""
    text = text_file.decode(path, data, ScenarioError,
                            "a scenario is a JSON object (README, \"Scenario files\")",
                            "UTF-8 text: a scenario is a JSON text file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ScenarioError("%s is not valid JSON: %s" % (path, e))
    except RecursionError:
        raise ScenarioError("%s line %d column %d: nested too deeply to read"
                            % ((path,) + _deepest(text)))
    except ValueError:  # an integer with more digits than Python converts
        digits = sys.get_int_max_str_digits()
        long = re.search(r"\d{%d,}" % (digits + 1), text)
        where = " line %d column %d" % _line_col(text, long.start()) if long else ""
        raise ScenarioError("%s%s: a number with more than %d digits" % (path, where, digits))


def load(path):
    """The checked Scenario in the file at path; ScenarioError naming the file and
    where in it otherwise."""
    d = parse(path, text_file.read_bytes(path, ScenarioError))
    try:
        return from_dict(d)
    except ScenarioError as e:
        raise ScenarioError("%s: %s" % (path, e))
