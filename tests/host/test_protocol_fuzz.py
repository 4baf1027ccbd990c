"""Fuzzing the host link's protocol (firmware/protocol.py) with the pen in every
state: valid lines with words removed, retyped, set to NaN, Infinity or huge
numbers, JSON documents with fields removed or retyped, oversize lines, random
bytes, checksums right and wrong, each split across feeds at random points, while
time runs past the confirmation window. No press ever comes, so nothing may
change: no exception escapes, the pen's state, profile, configuration, sensors and
valves stay as they were, nothing is saved, and every reply is well formed. The
count is printed at the end of every run (CRYOPEN_FUZZ_LINES sets it)."""
import binascii
import json
import os
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from firmware import profiles, protocol, states
from tests.core.link_rig import STATES, pen_in, rig_and_host, snapshot
from tests.core.test_protocol import VALID

LINES = int(os.environ.get("CRYOPEN_FUZZ_LINES", "5000"))
PER_EXAMPLE = 25
EXAMPLES = max(1, LINES // PER_EXAMPLE)
COUNTS = Counter()
TERMINAL_SUMMARY = []

NONFINITE = ("NaN", "Infinity", "-Infinity")
HUGE = ("1e308", "-1e308", "1e400", str(10 ** 30), str(2 ** 64), "1e-308", "-0")
json_scalars = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
                | st.sampled_from(NONFINITE + HUGE).map(lambda s: ("raw", s)))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=6)


def dumps(value):
    """JSON, with ("raw", text) standing for text as it is (NaN, 1e400: what JSON
    readers take although JSON has no such numbers)."""
    if isinstance(value, tuple):
        return value[1]
    if isinstance(value, list):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join("%s: %s" % (json.dumps(k), dumps(v)) for k, v in value.items()) + "}"
    return json.dumps(value)


def _config_doc():
    custom = dict(profiles.PROFILES[0], name="mine")
    return {"profiles": ["short", "mine"], "start": "mine", "custom": [custom]}


def _cal_doc():
    from boards.sim import board
    from firmware import calibration
    return {"sensors": calibration.nominal(board).as_dict()["sensors"]}


DOCS = {"config set": _config_doc(), "calibration set": _cal_doc()}


@st.composite
def mutated_doc(draw):
    """A valid config or calibration with one field removed, retyped or set to a
    strange number, somewhere in it."""
    command = draw(st.sampled_from(sorted(DOCS)))
    doc = json.loads(json.dumps(DOCS[command]))
    holders = [doc]
    for v in list(doc.values()):
        holders += [x for x in (v if isinstance(v, list) else [v]) if isinstance(x, dict)]
    target = draw(st.sampled_from(holders))
    key = draw(st.sampled_from(sorted(target)))
    how = draw(st.sampled_from(("drop", "retype", "number", "none")))
    if how == "drop":
        del target[key]
    elif how == "retype":
        target[key] = draw(json_values)
    elif how == "number":
        target[key] = ("raw", draw(st.sampled_from(NONFINITE + HUGE)))
    return command + " " + dumps(doc)


@st.composite
def mutated_words(draw):
    """A valid command with a word removed, repeated or replaced."""
    words = draw(st.sampled_from(VALID)).split(" ")
    i = draw(st.integers(0, len(words) - 1))
    how = draw(st.sampled_from(("drop", "twice", "replace")))
    if how == "drop":
        del words[i]
    elif how == "twice":
        words.insert(i, words[i])
    else:
        words[i] = draw(WORDS)
    return " ".join(words)


WORDS = st.sampled_from(NONFINITE + HUGE + ("", "-1", "0", "17", "x", "{}")) | st.text(max_size=6)
IDS = (st.sampled_from(("1", "0", "99999999", "123456789", "", "-1", "a"))
       | st.integers(0, 10 ** 8).map(str))
CHECKS = st.sampled_from(("none", "none", "right", "wrong"))
WRONG_CRC = st.integers(0, 0xFFFFFFFF)


def with_id(draw, body):
    line = ("%s %s" % (draw(IDS), body)).encode("utf-8", "replace")
    check = draw(CHECKS)
    if check == "right":
        line += b" *%08x" % (binascii.crc32(line) & 0xFFFFFFFF)
    elif check == "wrong":
        line += b" *%08x" % draw(WRONG_CRC)
    return line


KINDS = ("valid", "words", "doc", "bytes", "oversize", "unended")


@st.composite
def a_line(draw):
    """(kind, bytes, whether a newline ends it)."""
    kind = draw(st.sampled_from(KINDS + ("doc", "words", "valid", "bytes")))
    if kind == "valid":
        return kind, with_id(draw, draw(st.sampled_from(VALID))), True
    if kind == "words":
        return kind, with_id(draw, draw(mutated_words())), True
    if kind == "doc":
        return kind, with_id(draw, draw(mutated_doc())), True
    if kind == "bytes":
        return kind, draw(st.binary(max_size=120)), draw(st.booleans())
    if kind == "oversize":
        return kind, with_id(draw, "config set " + "[" * draw(st.integers(
            protocol.MAX_LINE - 20, protocol.MAX_LINE + 50))), True
    # a valid line cut short, run into the next one
    line = with_id(draw, draw(st.sampled_from(VALID)))
    return kind, line[:draw(st.integers(0, len(line)))], False


# One pen per state for the whole run, each with a new protocol per example: the test
# fails as soon as anything changes one of them, so a pen is never reused changed.
RIGS = {}


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    if COUNTS["lines"]:
        kinds = ", ".join("%d %s" % (COUNTS[k], k) for k in KINDS)
        TERMINAL_SUMMARY.append(
            "protocol fuzz: %d lines in %d pens (%s), states %s; %d replies, all well formed; "
            "0 exceptions, 0 changes without a confirmation"
            % (COUNTS["lines"], COUNTS["pens"], kinds, "/".join(STATES), COUNTS["replies"]))


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(state=st.sampled_from(STATES), lines=st.lists(a_line(), min_size=PER_EXAMPLE,
                                                       max_size=PER_EXAMPLE),
       cuts=st.lists(st.integers(1, 70), min_size=8, max_size=8),
       step_ms=st.integers(0, 4000), chunk=st.integers(1, 300))
def test_no_line_changes_the_pen_or_escapes_an_exception(state, lines, cuts, step_ms, chunk):
    rig, p, host, hooks = rig_and_host(state, clinic=True, rigs=RIGS)
    host.chunk = chunk  # every reply is parsed (checksum, kind, JSON) as it is read
    before = snapshot(rig.pen, p)
    config_before = p.config_doc()
    t = rig.t
    for n, (kind, line, ended) in enumerate(lines):
        COUNTS[kind] += 1
        data = line + b"\n" if ended else line
        for k in range(3):  # split across feeds at drawn points, then the rest at once
            cut = cuts[(n + k) % len(cuts)]
            host.send(data[:cut])
            data = data[cut:]
        host.send(data)
        t += step_ms
        p.poll(t)
        assert snapshot(rig.pen, p) == before
    p.poll(t + protocol.CONFIRM_MS)
    host.drain()
    assert host.pending == b""  # every reply ended with its newline
    assert snapshot(rig.pen, p) == before and p.config_doc() == config_before
    assert p.request is None and not p.clinic.installed
    assert not [c for c in hooks.calls if c[0] in ("save", "service")]
    COUNTS["lines"] += len(lines)
    COUNTS["pens"] += 1
    COUNTS["replies"] += len(host.replies)


def test_the_run_sent_at_least_the_lines_it_promised():
    """Runs after the fuzz (pytest keeps file order)."""
    if not COUNTS["lines"]:
        pytest.skip("the fuzz did not run")
    assert COUNTS["lines"] >= min(LINES, 5000) - PER_EXAMPLE
    assert COUNTS["pens"] >= len(STATES)


def test_pens_in_every_state_are_what_the_fuzz_needs():
    for name in STATES:
        assert states.STATE_NAMES[pen_in(name).pen.state] == name
