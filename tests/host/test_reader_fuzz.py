"""Fuzzing the readers: the scenario loader (`cryopen simulate FILE`), the trace reader
behind `cryopen logs TRACE.csv`, the profile loader (firmware/profiles.py, inline
profiles) and the flash image reader (`cryopen logs --flash`).

Each is fed valid files with fields removed, retyped, renamed, set to NaN,
Infinity or huge numbers, files truncated at every line and cut at random bytes,
and random bytes. Every input must be either read or refused with the reader's own
error (ScenarioError, TraceError, ProfileError, ImageError), whose message names
the file and where in it (the line, the field); any other exception is a failure.
What is read must hold what the reader promises (finite numbers, limits kept, time
that runs forwards). The counts are printed at the end of every run."""
import copy
import csv
import glob
import io
import json
import math
import os
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from firmware import limits, profiles
from host_tools.sim.plant import PARAMS
from host_tools import cli
from host_tools.pens import flash_image
from host_tools.reports import logs, record_log
from host_tools.sim import scenario

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIO_FILES = sorted(glob.glob(os.path.join(ROOT, "tests", "scenarios", "*.json")))
FUZZ = settings(max_examples=int(os.environ.get("CRYOPEN_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# reader -> Counter(inputs, refused, read, unexpected)
COUNTS = {name: Counter() for name in ("scenario loader", "trace reader", "profile loader",
                                       "flash image reader")}
TERMINAL_SUMMARY = []


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    for name, c in COUNTS.items():
        if c["inputs"]:
            TERMINAL_SUMMARY.append(
                "reader fuzz, %s: %d inputs, %d read, %d refused with a message naming where, "
                "%d tracebacks" % (name, c["inputs"], c["read"], c["refused"], c["unexpected"]))


def _outcome(reader, fn, *args, expected):
    """fn(*args), counted: the result, or the reader's own error; anything else is
    counted as a traceback and raised."""
    COUNTS[reader]["inputs"] += 1
    try:
        result = fn(*args)
    except expected as e:
        COUNTS[reader]["refused"] += 1
        return e
    except Exception:
        COUNTS[reader]["unexpected"] += 1
        raise
    COUNTS[reader]["read"] += 1
    return result


# --- generated JSON ----------------------------------------------------------------------

NONFINITE = (float("nan"), float("inf"), float("-inf"))
HUGE = (1e308, -1e308, 10 ** 30, -(10 ** 30), 10 ** 400, 2 ** 64, 1e-308)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
    | st.sampled_from(NONFINITE + HUGE),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=6)


def _paths(v, prefix=()):
    yield prefix
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, prefix + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from _paths(x, prefix + (i,))


def _nonfinite(v):
    if isinstance(v, float):
        return not math.isfinite(v)
    if isinstance(v, dict):
        return any(_nonfinite(x) for x in v.values())
    if isinstance(v, list):
        return any(_nonfinite(x) for x in v)
    return False


def _mutate(data, doc, max_mutations=3):
    """doc with one to max_mutations mutations: a field removed, retyped, renamed, set to
    NaN, Infinity or a huge number, or an unknown field added. Returns (doc, what)."""
    doc = copy.deepcopy(doc)
    what = []
    for _ in range(data.draw(st.integers(1, max_mutations))):
        path = data.draw(st.sampled_from(list(_paths(doc))))
        op = data.draw(st.sampled_from(("remove", "retype", "nonfinite", "huge", "rename",
                                        "add")))
        if not path:
            if op == "retype":
                doc = data.draw(json_values)
                what.append("root retyped")
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if op == "remove":
            del parent[key]
        elif op == "retype":
            parent[key] = data.draw(json_values)
        elif op == "nonfinite":
            parent[key] = data.draw(st.sampled_from(NONFINITE))
        elif op == "huge":
            parent[key] = data.draw(st.sampled_from(HUGE))
        elif op == "rename" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=8))] = parent.pop(key)
        elif op == "add" and isinstance(parent[key], dict):
            parent[key][data.draw(st.text(max_size=8))] = data.draw(json_values)
        what.append("%s %s" % (op, "/".join(map(str, path))))
    return doc, what


# --- the scenario loader -----------------------------------------------------------------

_INLINE = {"name": "inline", "profile": dict(profiles.PROFILES[4]), "duration_s": 12,
           "plant": {"cartridge_c": 15, "handle_c": 30},
           "events": [{"t": 1, "trigger": True},
                      {"t": 2, "fault": "loop_hang", "for_s": 0.5, "where": "c"},
                      {"t": 3, "fault": "thermistor_drift", "offset_c": -4, "sensor": 2},
                      {"t": 4, "clear": "thermistor_drift", "sensor": 2},
                      {"t": 5, "reset": True}, {"t": 6, "contact": False},
                      {"t": 7, "tilted": True}, {"t": 8, "power": False},
                      {"t": 9, "power": True}, {"t": 10, "trigger": False}]}
SCENARIOS = [_INLINE] + [json.load(open(p)) for p in SCENARIO_FILES]
# Every name a scenario message can point at.
_FIELDS = (set(scenario._TOP_KEYS) | set(scenario._ACTIONS) | set(scenario._EXTRA_KEYS)
           | set(profiles.FIELDS) | {row[0] for row in PARAMS} | {"scenario", "profile"})
_WHERE = re.compile(r"line \d+|is empty|events\[\d+\]|\b(%s)\b"
                    % "|".join(map(re.escape, sorted(_FIELDS))))


def _load_scenario(tmp, data):
    path = os.path.join(tmp, "fuzz.json")
    with open(path, "wb") as f:
        f.write(data)
    got = _outcome("scenario loader", scenario.load, path, expected=scenario.ScenarioError)
    if isinstance(got, scenario.ScenarioError):
        message = str(got)
        assert message.startswith(path), message
        assert _WHERE.search(message[len(path):]), message
    else:
        _accepted_scenario(got)
    return got


def _accepted_scenario(sc):
    assert 0 < sc.duration_s <= scenario.MAX_DURATION_S
    times = [e.t_s for e in sc.events]
    assert times == sorted(times) and all(0 <= t <= sc.duration_s for t in times)
    for e in sc.events:
        for v in (e.for_s, e.offset_c):
            assert v is None or math.isfinite(v)
    assert isinstance(sc.profile, profiles.Profile)
    for v in sc.plant.values():
        assert math.isfinite(v)


def test_every_scenario_file_reads(tmp_path):
    for doc in SCENARIOS:
        assert isinstance(_load_scenario(str(tmp_path), json.dumps(doc).encode()),
                          scenario.Scenario)


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return str(tmp_path_factory.mktemp("fuzz"))


@FUZZ
@given(data=st.data())
def test_mutated_scenarios_are_read_or_refused_naming_where(tmp, data):
    doc, what = _mutate(data, data.draw(st.sampled_from(SCENARIOS)))
    got = _load_scenario(tmp, json.dumps(doc, indent=1).encode())
    if _nonfinite(doc):
        assert isinstance(got, scenario.ScenarioError), what


@FUZZ
@given(data=st.data())
def test_damaged_scenario_text_is_read_or_refused_naming_where(tmp, data):
    """Bytes cut out, changed or put in anywhere, or the file cut at a byte."""
    text = bytearray(json.dumps(data.draw(st.sampled_from(SCENARIOS)), indent=1).encode())
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        op = data.draw(st.sampled_from(("cut", "delete", "change", "insert")))
        if op == "cut":
            del text[at:]
        elif op == "delete":
            del text[at:at + data.draw(st.integers(1, 40))]
        elif op == "change" and at < len(text):
            text[at] = data.draw(st.integers(0, 255))
        else:
            text[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    _load_scenario(tmp, bytes(text))


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_are_refused_as_a_scenario(tmp, data):
    got = _load_scenario(tmp, data)
    assert isinstance(got, scenario.ScenarioError)


def test_a_scenario_cut_at_every_line_is_refused_naming_the_line(tmp_path):
    for doc in SCENARIOS[:6]:
        lines = json.dumps(doc, indent=1).encode().splitlines(keepends=True)
        for k in range(len(lines)):  # the last line holds the closing brace
            got = _load_scenario(str(tmp_path), b"".join(lines[:k]))
            assert isinstance(got, scenario.ScenarioError)
            assert re.search(r"line \d+|is empty", str(got)), got


# --- the profile loader ------------------------------------------------------------------


def _accepted_profile(p):
    for v in (p.target_cc, p.floor_cc, p.hold_ms, p.contact_ms, p.rest_ms, p.session_ms,
              p.cycles, p.cool_window_ms, p.cool_drop_cc):
        assert type(v) is int
    assert limits.FLOOR_CC <= p.floor_cc < p.target_cc <= limits.TARGET_MAX_CC
    assert limits.TICK_MS <= p.contact_ms <= limits.MAX_CONTACT_MS
    assert 0 <= p.hold_ms <= p.contact_ms
    assert p.rest_ms >= limits.MIN_REST_MS
    assert p.contact_ms <= p.session_ms <= limits.MAX_SESSION_MS
    assert 1 <= p.cycles <= limits.MAX_CYCLES
    assert limits.NO_COOLING_MIN_MS <= p.cool_window_ms <= p.contact_ms
    if p.kind == profiles.COOLING:
        assert p.floor_cc >= limits.PIGMENT_FLOOR_CC


def _load_profile(d):
    got = _outcome("profile loader", profiles.load, d, expected=profiles.ProfileError)
    if isinstance(got, profiles.ProfileError):
        message = str(got)
        assert re.search(r"\b(%s)\b|a profile must be|unknown field" % "|".join(profiles.FIELDS),
                         message), message
    else:
        _accepted_profile(got)
    return got


_NUMBERS = (st.floats() | st.integers(-(10 ** 20), 10 ** 20) | st.sampled_from(NONFINITE + HUGE)
            | st.floats(-100, 4000) | st.integers(-100, 4000))


@FUZZ
@given(data=st.data())
def test_mutated_profiles_are_loaded_within_the_limits_or_refused_naming_the_field(data):
    d, what = _mutate(data, data.draw(st.sampled_from(profiles.PROFILES)), max_mutations=2)
    got = _load_profile(d)
    if _nonfinite(d):
        assert isinstance(got, profiles.ProfileError), what


@FUZZ
@given(data=st.data())
def test_profiles_with_generated_numbers_keep_the_limits(data):
    """Every number field drawn afresh, near the limits and far beyond them."""
    d = dict(data.draw(st.sampled_from(profiles.PROFILES)))
    for field in data.draw(st.lists(st.sampled_from(profiles.FIELDS[2:]), min_size=1,
                                    max_size=4, unique=True)):
        d[field] = data.draw(_NUMBERS)
    _load_profile(d)


# --- the trace reader --------------------------------------------------------------------


@pytest.fixture(scope="module")
def trace_text(tmp_path_factory):
    """A trace with an application, a fault and its alarm, as `cryopen simulate` writes it."""
    tmp = tmp_path_factory.mktemp("trace")
    doc = {"name": "t", "profile": "moderate", "duration_s": 1.5,
           "events": [{"t": 0.3, "trigger": True}, {"t": 0.6, "fault": "thermistor_open"},
                      {"t": 1.2, "trigger": False}]}
    (tmp / "s.json").write_text(json.dumps(doc))
    assert cli.main(["simulate", str(tmp / "s.json"), "--trace", str(tmp / "t.csv")]) == 0
    return (tmp / "t.csv").read_text()


_TRACE_WHERE = re.compile(r"line \d+|is empty|no rows")


def _read_trace(tmp, data):
    path = os.path.join(tmp, "fuzz.csv")
    with open(path, "wb") as f:
        f.write(data)
    got = _outcome("trace reader", _trace_events, path, expected=logs.TraceError)
    if isinstance(got, logs.TraceError):
        message = str(got)
        assert message.startswith(path), message
        assert _TRACE_WHERE.search(message[len(path):]), message
    return got


def _trace_events(path):
    rows = logs.read(path)
    times = [float(r["t_s"]) for r in rows]
    assert times == sorted(times)
    return rows, list(logs.events(rows))


_CELLS = st.sampled_from(("", "nan", "inf", "-inf", "1e999", "9" * 400, "-1", "TREATING",
                          "thermistor_open|gremlins", "2", "0.5", '"', "a,b", "\x00", "\u00b2",
                          "watchdog_reset")) | st.text(max_size=10)


def _csv_text(rows):
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@FUZZ
@given(data=st.data())
def test_mutated_traces_are_read_or_refused_naming_the_line(tmp, trace_text, data):
    rows = list(csv.reader(trace_text.splitlines()))
    for _ in range(data.draw(st.integers(1, 3))):
        op = data.draw(st.sampled_from(("remove column", "rename column", "cell", "cell",
                                        "delete row", "duplicate row", "swap rows")))
        col = data.draw(st.integers(0, len(rows[0]) - 1))
        i = data.draw(st.integers(1, len(rows) - 1)) if len(rows) > 1 else 0
        j = data.draw(st.integers(1, len(rows) - 1)) if len(rows) > 1 else 0
        if op == "remove column" and len(rows[0]) > 1:
            rows = [r[:col] + r[col + 1:] for r in rows]
        elif op == "rename column":
            rows[0][col] = data.draw(st.text(max_size=10))
        elif op == "cell" and i:
            rows[i][col] = data.draw(_CELLS)
        elif op == "delete row" and i:
            del rows[i]
        elif op == "duplicate row" and i:
            rows.insert(j, list(rows[i]))
        elif op == "swap rows" and i:
            rows[i], rows[j] = rows[j], rows[i]
    got = _read_trace(tmp, _csv_text(rows).encode())
    missing = [c for c in logs.REQUIRED if c not in rows[0]]
    if missing:  # refused at the header, naming the first column it lacks
        assert isinstance(got, logs.TraceError) and "no column %s" % missing[0] in str(got)


@FUZZ
@given(data=st.data())
def test_damaged_trace_bytes_are_read_or_refused_naming_the_line(tmp, trace_text, data):
    text = bytearray(trace_text.encode())
    at = data.draw(st.integers(0, len(text)))
    op = data.draw(st.sampled_from(("cut", "change", "insert")))
    if op == "cut":
        del text[at:]
    elif op == "change" and at < len(text):
        text[at] = data.draw(st.integers(0, 255))
    else:
        text[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    _read_trace(tmp, bytes(text))


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_are_refused_as_a_trace(tmp, data):
    assert isinstance(_read_trace(tmp, data), logs.TraceError)


def test_a_trace_cut_at_every_line_and_within_it(tmp_path, trace_text):
    """Cut after each whole line: the rows before it read (only the header: refused).
    Cut inside each line: refused, naming that line."""
    lines = trace_text.encode().splitlines(keepends=True)
    for k in range(1, len(lines) + 1):
        whole = b"".join(lines[:k])
        got = _read_trace(str(tmp_path), whole)
        assert isinstance(got, logs.TraceError) == (k == 1), (k, got)
        if k < len(lines):
            got = _read_trace(str(tmp_path), whole + lines[k][:len(lines[k]) // 2])
            assert isinstance(got, logs.TraceError)
            assert "line %d:" % (k + 1) in str(got), got


def test_each_column_the_log_does_not_need_can_be_missing(tmp_path, trace_text):
    rows = list(csv.reader(trace_text.splitlines()))
    for name in rows[0]:
        col = rows[0].index(name)
        got = _read_trace(str(tmp_path), _csv_text([r[:col] + r[col + 1:] for r in rows]).encode())
        if name in logs.REQUIRED:
            assert isinstance(got, logs.TraceError) and "no column %s" % name in str(got)
        else:
            assert not isinstance(got, logs.TraceError), got


# --- the flash image reader --------------------------------------------------------------


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("flash") / "pen.img"
    assert cli.main(["simulate", os.path.join(ROOT, "tests", "scenarios", "rest_lockout.json"),
                     "--flash", str(path)]) == 0
    data = path.read_bytes()
    used = [b for b in range(0, len(data), flash_image.BLOCK_SIZE)
            if data[b:b + flash_image.BLOCK_SIZE].strip(b"\xff")]
    return data, used


def _read_records(path):
    records, damaged = record_log.read(path)
    return [record_log.line(r) for r in records], damaged


@settings(FUZZ, max_examples=max(FUZZ.max_examples // 3, 1))
@given(data=st.data())
def test_damaged_flash_images_are_read_or_refused(tmp, image, data):
    original, used = image
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 16))):
        block = data.draw(st.sampled_from(used))
        at = block + data.draw(st.integers(0, flash_image.BLOCK_SIZE - 1))
        mutated[at:at + 4] = data.draw(st.binary(min_size=4, max_size=4))
    if data.draw(st.booleans()):
        del mutated[data.draw(st.integers(0, len(mutated))):]
    path = os.path.join(tmp, "fuzz.img")
    with open(path, "wb") as f:
        f.write(mutated)
    got = _outcome("flash image reader", _read_records, path,
                   expected=(flash_image.ImageError, OSError))
    if isinstance(got, flash_image.ImageError):
        assert str(got).startswith(path), got
