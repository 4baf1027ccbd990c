"""Power cycles keep the caps: the simulated pen boots from its stored state
through the device's boot path (firmware.startup), its flash a littlefs image."""
import csv
import json

from firmware import alarms, profiles
from host_tools import cli
from host_tools.sim import scenario, simulator

COLUMNS = simulator.TRACE_COLUMNS


def run(doc, **kw):
    result = simulator.run(scenario.from_dict(doc), **kw)
    return result.summary, [dict(zip(COLUMNS, r)) for r in result.trace]


CUT = {"name": "power cut mid-application", "profile": "moderate", "duration_s": 40, "events": [
    {"t": 1.0, "trigger": True}, {"t": 14.0, "trigger": False},
    {"t": 20.0, "trigger": True}, {"t": 23.0, "power": False}, {"t": 25.0, "power": True},
    {"t": 26.0, "trigger": False}, {"t": 27.0, "trigger": True}, {"t": 28.0, "trigger": False},
    {"t": 31.0, "trigger": True}, {"t": 39.0, "trigger": False}]}


def test_a_power_cut_mid_application_rests_a_full_rest_and_keeps_counting():
    summary, rows = run(CUT)
    rest_s = profiles.builtin("moderate").rest_ms / 1000
    assert [(b["t_s"], b["cause"]) for b in summary["boots"]] == [(0.0, "power_on"),
                                                                  (25.0, "power_on")]
    starts = [a["start_s"] for a in summary["applications"]]
    assert starts == [1.0, 20.0, 31.0]  # the press at 27 s fell inside the rest from the boot
    assert all(s < 23.0 or s >= 25.0 + rest_s for s in starts)
    assert summary["applications"][1]["end_reason"] == "power_lost"
    # The interrupted application stays counted: the next one is the third.
    after_boot = [r["applications"] for r in rows if 25.0 <= r["t_s"] < 31.0]
    assert set(after_boot) == {2}
    assert rows[-1]["applications"] == 3
    unpowered = [r for r in rows if 23.0 <= r["t_s"] < 25.0]
    assert not any(r["valve_open"] or r["master_open"] for r in unpowered)


def test_a_power_cut_in_a_rest_rests_again_from_the_boot():
    doc = {"name": "cut in the rest", "profile": "ftf", "duration_s": 60, "events": [
        {"t": 1.0, "trigger": True}, {"t": 16.0, "trigger": False},
        {"t": 30.0, "power": False}, {"t": 31.0, "power": True},
        {"t": 47.0, "trigger": True}, {"t": 50.0, "trigger": False},
        {"t": 58.0, "trigger": True}]}
    summary, _ = run(doc)
    rest_s = profiles.builtin("ftf").rest_ms / 1000
    # The thaw would have ended at 46 s; from the boot at 31 s it ends at 61 s.
    assert [a["start_s"] for a in summary["applications"]] == [1.0]
    assert 31.0 + rest_s > 58.0


def test_flash_image_carries_the_session_across_two_runs(tmp_path, capsys):
    doc = {"name": "two presses", "profile": "aftercare", "duration_s": 30, "events": [
        {"t": 1.0, "trigger": True}, {"t": 4.0, "trigger": False},
        {"t": 12.0, "trigger": True}, {"t": 15.0, "trigger": False}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    image = str(tmp_path / "pen.img")
    summaries = []
    for n in range(2):
        out = str(tmp_path / ("summary%d.json" % n))
        assert cli.main(["simulate", str(path), "--flash", image, "--summary", out]) == 0
        with open(out) as f:
            summaries.append(json.load(f))
    first, second = summaries
    assert first["boots"][0]["cold_start"] is True and second["boots"][0]["cold_start"] is False
    # The second run's session goes on from the first's: its first press falls in the
    # rest from the boot. The first run ended IDLE, armed: the boot counts one
    # application for the cut, says so, and the next real one is the fourth.
    assert [a["start_s"] for a in first["applications"]] == [1.0, 12.0]
    assert [a["start_s"] for a in second["applications"]] == [12.0]
    exported = str(tmp_path / "out.csv")
    capsys.readouterr()
    assert cli.main(["logs", "--flash", image, "--csv", exported]) == 0
    with open(exported) as f:
        rows = list(csv.DictReader(f))
    apps = [r for r in rows if r["kind"] == "application"]
    assert [(r["boot"], r["session"], r["number"]) for r in apps] == [
        ("1", "1", "1"), ("1", "1", "2"), ("2", "1", "4")]
    boots = [r for r in rows if r["kind"] == "boot"]
    assert [(r["applications"], r["assumed"]) for r in boots] == [("0", "0"), ("3", "1")]
    assert all(r["profile"] == "aftercare" and r["end_reason"] == "released" for r in apps)


def test_a_damaged_state_rests_before_the_first_application(tmp_path):
    from host_tools.pens import flash_image

    lfs, ctx = flash_image.new_image()
    for name in ("state0.bin", "state1.bin"):
        with lfs.open("/" + name, "wb") as f:
            f.write(b"\x00" * 40)  # present, but no valid copy
    doc = {"name": "damaged state", "profile": "aftercare", "duration_s": 10, "events": [
        {"t": 1.0, "trigger": True}, {"t": 2.0, "trigger": False},
        {"t": 6.0, "trigger": True}, {"t": 8.0, "trigger": False}]}
    summary, _ = run(doc, flash=(lfs, ctx))
    assert summary["boots"][0]["cold_start"] is True
    rest_s = profiles.builtin("aftercare").rest_ms / 1000
    assert [a["start_s"] for a in summary["applications"]] == [6.0]
    assert 6.0 >= rest_s


def test_without_a_working_record_the_pen_treats_only_once_the_clinician_accepts():
    doc = {"name": "flash fails", "profile": "aftercare", "duration_s": 30, "events": [
        {"t": 1.0, "trigger": True}, {"t": 3.0, "trigger": False},
        {"t": 4.0, "fault": "flash_error"},
        {"t": 9.0, "trigger": True}, {"t": 11.0, "trigger": False},  # refused: it says why
        {"t": 12.0, "reset": True},  # the clinician accepts at the pen
        {"t": 14.0, "trigger": True}, {"t": 16.0, "trigger": False}]}
    summary, rows = run(doc)
    assert [a["start_s"] for a in summary["applications"]] == [1.0, 14.0]
    shown = {r["alarm"] for r in rows if 9.0 <= r["t_s"] < 12.0}
    assert shown == {alarms.worst(alarms.F_NO_RECORD)}
    assert summary["faults"] == []  # a condition of the record, not a fault of the pen


def test_a_flash_that_cannot_be_read_at_boot_needs_the_same_acceptance():
    from firmware import record, startup
    from hal.storage import Storage

    class Broken:
        def __getattr__(self, name):
            def fail(*args):
                raise OSError(5, "EIO")
            return fail

    from boards.sim import board
    started = startup.start(board, profiles.builtin("aftercare"), Storage(Broken()), 0,
                            record.CAUSE_POWER)
    assert started.record_ok is False and started.cold_start is True


def test_the_armed_state_is_on_flash_before_the_first_application_after_boot():
    doc = {"name": "press right after boot", "profile": "moderate", "duration_s": 12, "events": [
        {"t": 0.02, "trigger": True}, {"t": 1.0, "power": False}, {"t": 1.5, "power": True},
        {"t": 1.6, "trigger": False}, {"t": 2.0, "trigger": True}, {"t": 3.0, "trigger": False},
        {"t": 8.0, "trigger": True}, {"t": 9.0, "trigger": False}]}
    summary, rows = run(doc)
    rest_s = profiles.builtin("moderate").rest_ms / 1000
    starts = [a["start_s"] for a in summary["applications"]]
    assert starts[0] < 1.0 and starts[1:] == [8.0]  # nothing in the rest from the boot
    assert 8.0 >= 1.5 + rest_s
    assert [r["applications"] for r in rows if r["t_s"] == 8.0] == [2]  # the cut one counted


def test_a_reset_while_a_fault_shows_does_not_accept_treating_without_a_record():
    doc = {"name": "fault and flash", "profile": "aftercare", "duration_s": 20, "events": [
        {"t": 0.5, "fault": "flash_error"}, {"t": 1.0, "trigger": True},
        {"t": 2.0, "fault": "thermistor_open"}, {"t": 2.5, "clear": "thermistor_open"},
        {"t": 3.0, "trigger": False}, {"t": 4.0, "reset": True},  # clears the fault only
        {"t": 10.0, "trigger": True}, {"t": 11.0, "trigger": False}]}
    summary, rows = run(doc)
    assert [a["start_s"] for a in summary["applications"]] == [1.0]
    shown = {r["alarm"] for r in rows if 10.0 <= r["t_s"] < 11.0}
    assert shown == {alarms.worst(alarms.F_NO_RECORD)}
