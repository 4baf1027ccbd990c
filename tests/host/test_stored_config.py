"""The clinic configuration in the pen's flash, on the simulated pen and on the real
littlefs: a scenario's configuration reaches the pen through its flash; a stored
configuration that fails its CRC or its check keeps the valves closed with its
alarm until the deliberate restore; it persists across power cycles and runs;
single byte flips in a copy are always refused; power cuts during a write leave
the old or the new configuration, never a refused one; and the reader, fuzzed,
either reads a copy or refuses it with what is wrong. The counts are printed at
the end of every run (TERMINAL_SUMMARY)."""
import copy
import json
import os
import random
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import boards.sim.board as sim_board
from firmware import alarms, config, limits, profiles, record, startup
from hal.storage import CONFIG_FILES, Storage
from host_tools import cli
from host_tools.pens import flash_image
from host_tools.sim import scenario, simulator
from tests.host.scenario_run import simulate
from tests.host.stored_copy_fuzz import damage, damaged, json_values as json_values_of, \
    must_be_refused

SEED = int(os.environ.get("CRYOPEN_FLIP_SEED", "20240611"))
COLUMNS = simulator.TRACE_COLUMNS
CONFIG_ALARM = alarms.worst(alarms.F_CONFIG)
CFG = {"profiles": ["aftercare", "short"], "start": "aftercare"}
GENTLE = {"name": "gentle", "kind": "cooling", "target_c": 6, "floor_c": -2, "hold_s": 0,
          "contact_s": 8, "rest_s": 6, "session_s": 60, "cycles": 5, "cool_window_s": 2,
          "cool_drop_c": 3}
FUZZ = settings(max_examples=int(os.environ.get("CRYOPEN_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
COUNTS = Counter()  # the fuzzed reader: inputs, read, refused, unexpected
DAMAGE = Counter()  # flips in a littlefs image: what the pen made of each
CUTS = Counter()
TERMINAL_SUMMARY = []


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    if COUNTS["inputs"]:
        TERMINAL_SUMMARY.append(
            "reader fuzz, stored configuration: %d inputs, %d read, %d refused with what is "
            "wrong, %d tracebacks" % (COUNTS["inputs"], COUNTS["read"], COUNTS["refused"],
                                      COUNTS["unexpected"]))
    if DAMAGE:
        TERMINAL_SUMMARY.append(
            "stored configuration damage: %d flips in a copy, %d refused naming it; %d flips "
            "elsewhere in its block, %d read as written; %d flips anywhere in the image: %d read "
            "as written, %d refused, %d not mountable, %d with no copy left (factory)" % (
                DAMAGE["copy"], DAMAGE["copy refused"], DAMAGE["slack"], DAMAGE["slack read"],
                DAMAGE["any"], DAMAGE["any read"], DAMAGE["any refused"],
                DAMAGE["any unmountable"], DAMAGE["any factory"]))
    if CUTS:
        TERMINAL_SUMMARY.append(
            "power cut: config    %4d cut points (%d clean, %d half-written): %d refused, "
            "%d neither the old nor the new configuration" % (
                CUTS["clean"] + CUTS["half"], CUTS["clean"], CUTS["half"], CUTS["refused"],
                CUTS["mixed"]))


def run(doc, **kw):
    result = simulator.run(scenario.from_dict(doc), **kw)
    return result.summary, [dict(zip(COLUMNS, r)) for r in result.trace]


PRESSES = [{"t": 1.0, "trigger": True}, {"t": 3.0, "trigger": False},
           {"t": 4.0, "mode": True}, {"t": 4.3, "mode": False},
           {"t": 6.0, "trigger": True}, {"t": 8.0, "trigger": False}]


# --- the acceptance: a refused configuration on the simulated pen ----------------------------
@pytest.mark.parametrize("how", ["corrupt", "invalid"])
def test_a_refused_stored_configuration_keeps_the_valves_closed_with_its_alarm(how):
    summary, rows = run({"name": how, "config": CFG, "stored_config": how, "duration_s": 10,
                         "events": PRESSES})
    assert summary["applications"] == [] and summary["profile_changes"] == []
    assert summary["alarms"] == ["config_invalid"]
    assert not any(r["valve_open"] or r["master_open"] or r["valve_cmd"] or r["master_cmd"]
                   for r in rows)
    assert {r["alarm"] for r in rows} == {CONFIG_ALARM}
    assert summary["faults"] == []  # a condition of the configuration, not a fault of the pen


def test_the_restore_gesture_in_the_scenario_restores_and_records_the_factory_configuration(
        tmp_path, capsys):
    image = tmp_path / "pen.img"
    summary, trace = simulate("stored_config_corrupt", tmp_path, "--flash", str(image))
    assert [(a["start_s"], a["profile"]) for a in summary["applications"]] == [(12.0, "aftercare")]
    assert {r["alarm"] for r in trace if float(r["t_s"]) < 9.5} == {"config_invalid"}
    assert {r["alarm"] for r in trace if float(r["t_s"]) >= 9.5} == {""}
    assert not any(r["valve_open"] == "1" for r in trace if float(r["t_s"]) < 12.0)
    capsys.readouterr()
    assert cli.main(["logs", "--flash", str(image)]) == 0
    assert "change config factory" in capsys.readouterr().out
    lfs, _ = flash_image.load(str(image))
    got = config.choose(Storage(flash_image.LfsFs(lfs)).config_copies())
    assert got.whole and got.d == config.factory("aftercare")


def test_a_bad_stored_config_option_or_a_clashing_inline_profile_stops_with_status_2(
        tmp_path, capsys):
    inline = dict(profiles.PROFILES[1], contact_s=12)  # "moderate", changed
    for doc, message in (
            ({"stored_config": "damaged", "profile": "moderate"},
             "stored_config = 'damaged' is not one of written, kept, corrupt, invalid"),
            ({"stored_config": 1, "profile": "moderate"}, "stored_config must be str"),
            ({"profile": inline}, "profile: 'moderate' is a built-in profile's name"),
            ({"config": {"profiles": ["aftercare", "frosty"]}},
             "config.profiles[1]: no profile named 'frosty'")):
        path = tmp_path / "s.json"
        path.write_text(json.dumps(dict(doc, name="bad", duration_s=5, events=[])))
        assert cli.main(["simulate", str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and str(path) in err, err


def test_a_scenario_profile_reaches_the_pen_through_its_flash_too(tmp_path):
    lfs, ctx = flash_image.new_image()
    summary, _ = run({"name": "inline", "profile": GENTLE, "duration_s": 3,
                      "events": [{"t": 1.0, "trigger": True}, {"t": 2.0, "trigger": False}]},
                     flash=(lfs, ctx))
    assert summary["applications"][0]["profile"] == "gentle"
    got = config.choose(Storage(flash_image.LfsFs(lfs)).config_copies())
    assert got.d == {"profiles": ["gentle"], "start": "gentle", "custom": [GENTLE]}


# --- persistence --------------------------------------------------------------------------
def test_the_stored_configuration_persists_across_a_power_cycle():
    doc = {"name": "cycle", "config": CFG, "duration_s": 13, "events": [
        {"t": 1.0, "mode": True}, {"t": 1.2, "mode": False},  # short
        {"t": 3.0, "power": False}, {"t": 3.5, "power": True},  # a full rest from the boot
        {"t": 9.0, "mode": True}, {"t": 9.2, "mode": False},  # aftercare -> short
        {"t": 10.0, "trigger": True}, {"t": 11.0, "trigger": False}]}
    summary, rows = run(doc)
    # The simulator stores the configuration once, before the first boot: after the power
    # cycle the pen offers what its flash holds, from its start.
    assert {r["profile"] for r in rows if 3.5 <= r["t_s"] < 9.2} == {"aftercare"}
    assert [(c["t_s"], c["to"]) for c in summary["profile_changes"]] == [
        (1.2, "short"), (3.5, "aftercare"), (9.2, "short")]
    assert [a["profile"] for a in summary["applications"]] == ["short"]


def test_a_kept_configuration_carries_over_to_the_next_run(tmp_path):
    image = str(tmp_path / "pen.img")
    first = {"name": "clinic", "duration_s": 1, "events": [],
             "config": {"profiles": ["gentle", "darker_skin"], "custom": [GENTLE]}}
    second = {"name": "next day", "profile": "moderate", "stored_config": "kept",
              "duration_s": 9, "events": [{"t": 8.0, "mode": True}, {"t": 8.2, "mode": False}]}
    summaries = []
    for n, doc in enumerate((first, second)):
        path = tmp_path / ("s%d.json" % n)
        path.write_text(json.dumps(doc))
        out = tmp_path / ("summary%d.json" % n)
        assert cli.main(["simulate", str(path), "--flash", image, "--summary", str(out)]) == 0
        summaries.append(json.loads(out.read_text()))
    assert summaries[1]["profile"] == "gentle"  # the flash's, not the scenario's
    # (the first run ended IDLE: its stored state owes a rest from the boot, 6 s)
    assert summaries[1]["profile_changes"] == [{"t_s": 8.2, "from": "gentle",
                                                "to": "darker_skin"}]


def test_a_kept_empty_flash_gets_the_factory_configuration(tmp_path):
    summary, rows = run({"name": "new pen", "profile": "ftf", "stored_config": "kept",
                         "duration_s": 2, "events": [{"t": 1.0, "mode": True},
                                                     {"t": 1.2, "mode": False}]})
    names = config.factory("ftf")["profiles"]
    assert summary["profile"] == "ftf"
    assert summary["profile_changes"][0]["to"] == names[names.index("ftf") + 1]


# --- damage on the real littlefs ------------------------------------------------------------
@pytest.fixture(scope="module")
def pen_image():
    """A simulated pen's flash: a configuration with a custom profile, a few records."""
    lfs, ctx = flash_image.new_image()
    doc = {"name": "clinic", "duration_s": 4, "events": [{"t": 1.0, "trigger": True},
                                                         {"t": 2.0, "trigger": False}],
           "config": {"profiles": ["gentle", "aftercare"], "custom": [GENTLE]}}
    simulator.run(scenario.from_dict(doc), flash=(lfs, ctx), record=False)
    image = bytes(ctx.buffer)
    got = config.choose(Storage(flash_image.LfsFs(lfs)).config_copies())
    spans = []
    at = image.find(got.data)
    while at >= 0:
        spans.append(at)
        at = image.find(got.data, at + 1)
    # Each copy in a data block of its own, where only its CRC guards it.
    assert len(spans) == 2 and all(s % flash_image.BLOCK_SIZE == 0 for s in spans), spans
    return image, got, spans


def boot(image):
    """A pen booted from the image (as on the device): its Clinic."""
    lfs, _ = flash_image.mount_bytes(image)
    return startup.start(sim_board, profiles.builtin("moderate"),
                         Storage(flash_image.LfsFs(lfs)), 0, record.CAUSE_POWER).clinic


def flipped(image, offset, xor):
    data = bytearray(image)
    data[offset] ^= xor
    return bytes(data)


def test_single_byte_flips_in_a_copy_are_refused_naming_it(pen_image):
    image, got, spans = pen_image
    rng = random.Random(SEED)
    for k in range(40):
        which = rng.randrange(2)
        offset = spans[which] + rng.randrange(len(got.data))
        clinic = boot(flipped(image, offset, rng.randrange(1, 256)))
        DAMAGE["copy"] += 1
        assert clinic.problem is not None, (k, offset)
        assert clinic.problem.endswith("bad CRC"), clinic.problem
        names = [n for n in CONFIG_FILES if n in clinic.problem]
        assert len(names) == 1
        DAMAGE["copy refused"] += 1


def test_a_flipped_copy_on_the_simulated_pen_keeps_the_valves_closed(pen_image):
    image, got, spans = pen_image
    lfs, ctx = flash_image.mount_bytes(flipped(image, spans[1] + 100, 0x08))
    summary, rows = run({"name": "flipped", "profile": "moderate", "stored_config": "kept",
                         "duration_s": 4, "events": PRESSES[:2]}, flash=(lfs, ctx))
    assert summary["applications"] == [] and summary["alarms"] == ["config_invalid"]
    # The image's session goes on: its rest runs, with the valves proved one at a time.
    assert not any(r["valve_open"] and r["master_open"] for r in rows)


def test_flips_beyond_a_copys_end_in_its_block_change_nothing(pen_image):
    image, got, spans = pen_image
    rng = random.Random(SEED + 1)
    for k in range(10):
        offset = rng.choice(spans) + rng.randrange(len(got.data), flash_image.BLOCK_SIZE)
        clinic = boot(flipped(image, offset, rng.randrange(1, 256)))
        DAMAGE["slack"] += 1
        assert clinic.problem is None and not clinic.factory, offset
        assert [p.name for p in clinic.choices] == ["gentle", "aftercare"]
        DAMAGE["slack read"] += 1


def test_flips_anywhere_in_the_image_never_end_in_an_exception(pen_image):
    """littlefs's metadata too: it then falls back to an older commit or does not
    mount. What the pen takes is the configuration written, a refusal, or (littlefs
    lost both copies with everything after them) the factory one: docs/SAFETY.md."""
    image, got, spans = pen_image
    bs = flash_image.BLOCK_SIZE
    used = [b for b in range(len(image) // bs) if image[b * bs:(b + 1) * bs].strip(b"\xff")]
    rng = random.Random(SEED + 2)
    for k in range(40):
        offset = rng.choice(used) * bs + rng.randrange(bs)
        DAMAGE["any"] += 1
        try:
            clinic = boot(flipped(image, offset, rng.randrange(1, 256)))
        except flash_image.ImageError:
            DAMAGE["any unmountable"] += 1
            continue
        if clinic.problem is not None:
            DAMAGE["any refused"] += 1
        elif clinic.factory:
            DAMAGE["any factory"] += 1
        else:
            assert [p.name for p in clinic.choices] == ["gentle", "aftercare"], offset
            DAMAGE["any read"] += 1


# --- power cuts during a configuration write ---------------------------------------------
def _config(i):
    names = [d["name"] for d in profiles.PROFILES]
    return {"profiles": names[i % 3:], "start": names[-1], "custom": []}


def test_a_power_cut_during_a_configuration_write_leaves_the_old_or_the_new_one():
    from tests.host.test_power_cut import CutFlash, LfsFs, blank, mount

    lfs, ctx = blank()
    images = []
    for i in range(8):  # into fresh blocks, and over copies already there
        images.append((i, bytes(ctx.buffer)))
        Storage(LfsFs(lfs)).save_config(config.encode(_config(i), i + 1))
    for i, image in images:
        old = _config(i - 1) if i else None
        new = _config(i)
        for half in (False, True):
            n = 0
            while True:
                n += 1
                cut = CutFlash(image, n, half)
                try:
                    Storage(LfsFs(mount(cut))).save_config(config.encode(new, i + 1))
                except OSError:
                    assert cut.fired
                if not cut.fired:
                    break
                CUTS["half" if half else "clean"] += 1
                st = Storage(LfsFs(mount(CutFlash(cut.buffer))))
                try:
                    got = config.choose(st.config_copies())
                except config.ConfigError as e:
                    CUTS["refused"] += 1
                    raise AssertionError("cut %d (%s) of write %d: %s" % (n, half, i, e))
                if (got.d if got else None) not in (old, new):
                    CUTS["mixed"] += 1
                    raise AssertionError("cut %d of write %d: %s" % (n, i, got and got.d))
                clinic = startup.Clinic(st, profiles.builtin("moderate"))
                clinic.load()  # and the boot finishes the write it finds cut short
                again = config.choose(st.config_copies())
                assert clinic.problem is None and again.whole
                assert again.d == (got.d if got else config.factory("moderate"))
    assert CUTS["clean"] > 8


# --- the reader, fuzzed -------------------------------------------------------------------
_GOOD = [config.encode(d, seq) for d, seq in (
    (CFG, 1), (config.factory("moderate"), 2),
    ({"profiles": ["gentle", "ftf"], "start": "ftf", "custom": [GENTLE]}, 77))]

json_values = json_values_of("aftercare", "gentle")


def _read(data):
    COUNTS["inputs"] += 1
    try:
        d, seq, choices, start = config.read(data)
    except config.ConfigError as e:
        COUNTS["refused"] += 1
        assert str(e)
        return None
    except Exception:
        COUNTS["unexpected"] += 1
        raise
    COUNTS["read"] += 1
    assert 1 <= len(choices) <= config.MAX_ENABLED and 0 <= start < len(choices)
    for p in choices:
        assert limits.FLOOR_CC <= p.floor_cc < p.target_cc <= limits.TARGET_MAX_CC
        assert limits.TICK_MS <= p.contact_ms <= limits.MAX_CONTACT_MS
        assert p.rest_ms >= limits.MIN_REST_MS and p.session_ms <= limits.MAX_SESSION_MS
    return d


@FUZZ
@given(st.binary(max_size=config.SIZE_MAX + 8))
def test_random_bytes_are_refused_as_a_stored_configuration(data):
    assert _read(data) is None


@FUZZ
@given(**damage(_GOOD, config.SIZE_MIN))
def test_damaged_copies_are_read_or_refused(good, edits, fix_crc, cut):
    got = _read(damaged(good, edits, fix_crc, cut))
    if must_be_refused(good, edits, fix_crc, cut):
        assert got is None


@FUZZ
@given(st.data())
def test_intact_copies_of_any_content_are_read_within_the_limits_or_refused(data):
    """Copies whose CRC is right over whatever JSON another firmware might have left:
    values replaced by any JSON, or numbers by numbers near and beyond the limits."""
    d = copy.deepcopy(data.draw(st.sampled_from(
        [CFG, config.factory("short"), {"profiles": ["gentle"], "custom": [GENTLE]}])))
    for _ in range(data.draw(st.integers(0, 3))):
        parent, key = _somewhere(data, d)
        if parent is None:
            d = data.draw(json_values)
            break
        if _is_number(parent[key]) and data.draw(st.booleans()):
            parent[key] = data.draw(st.integers(-100, 400) | st.floats(-100, 400))
        else:
            parent[key] = data.draw(json_values)
    try:
        encoded = config.encode(d, data.draw(st.integers(0, 2 ** 32 - 1)))
    except config.ConfigError:  # too big for a copy
        return
    _read(encoded)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _somewhere(data, d):
    """(container, key) of a value drawn anywhere in d; (None, None) for d itself."""
    places = []

    def walk(v):
        for k in (sorted(v) if isinstance(v, dict) else range(len(v))):
            places.append((v, k))
            if isinstance(v[k], (dict, list)):
                walk(v[k])

    if isinstance(d, (dict, list)):
        walk(d)
    if not places or data.draw(st.integers(0, 20)) == 0:
        return None, None
    return data.draw(st.sampled_from(places))
