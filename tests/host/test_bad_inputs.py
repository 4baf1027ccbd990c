"""Every file the host tools read, and every output path, fails with a message that
names the file and where, and exit status 2: never a traceback. One vocabulary for
the endings of an application: the summary's, in the trace and in `cryopen logs`."""
import csv
import json
import os
import subprocess
import sys

import pytest

from firmware import profiles
from host_tools import cli
from host_tools.reports import logs
from host_tools.sim import outputs
from tests.host.scenario_run import SCENARIOS, simulate

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOOD = {"name": "ok", "profile": "moderate", "duration_s": 3, "plant": {},
        "events": [{"t": 1.0, "trigger": True}, {"t": 1.5, "fault": "loop_hang", "for_s": 0.2},
                   {"t": 2.0, "fault": "thermistor_drift", "offset_c": 2}]}
PROFILE = dict(profiles.PROFILES[1])


def cryopen(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "unexpected error" not in err, err  # each reader's own message, not the guard's
    return status, out, err


# --- scenarios ---------------------------------------------------------------------------


def scenario_text(**kw):
    d = json.loads(json.dumps(GOOD))
    for key, value in kw.items():
        d[key] = value
    return json.dumps(d, indent=1)


def _with(text, old, new):
    assert old in text
    return text.replace(old, new, 1)


_INLINE = scenario_text(profile=PROFILE)
BAD_SCENARIOS = [
    (b"", "is empty"),
    (b"   \n", "is empty"),
    (b'{"name": "a",\n "profile": "\xff\xfe"}', "line 2: byte 0xff is not UTF-8 text"),
    (bytes(range(256)) * 4, "is not UTF-8 text"),
    (b'{"name": "a",\n "duration_s": 5,,}', "is not valid JSON: Expecting"),
    (b"\n" + b"[" * 100000, "line 2 column 201: nested too deeply to read"),
    (b'{"name": "a",\n "duration_s": ' + b"9" * 5000 + b"}", "line 2 column 16: a number with more"),
    (scenario_text(duration_s=0).encode(), "duration_s = 0 must be above 0"),
    (scenario_text(duration_s=-1).encode(), "duration_s = -1 must be above 0"),
    (scenario_text(duration_s=4000).encode(), "duration_s = 4000 is above 3600"),
    (scenario_text(duration_s=10 ** 400).encode(), "duration_s = 100000000000... (401 digits) is too"),
    (_with(scenario_text(), '"duration_s": 3', '"duration_s": NaN').encode(),
     "duration_s = NaN is not a finite number"),
    (_with(scenario_text(), '"duration_s": 3', '"duration_s": 1e999').encode(),
     "duration_s = Infinity is not a finite number"),
    (_with(scenario_text(), '"t": 1.0', '"t": NaN').encode(),
     "events[0]: t = NaN is not a finite number"),
    (_with(scenario_text(), '"t": 1.0', '"t": -Infinity').encode(),
     "events[0]: t = -Infinity is not a finite number"),
    (_with(scenario_text(), '"for_s": 0.2', '"for_s": NaN').encode(),
     "events[1]: for_s = NaN is not a finite number"),
    (_with(scenario_text(), '"for_s": 0.2', '"for_s": Infinity').encode(),
     "events[1]: for_s = Infinity is not a finite number"),
    (_with(scenario_text(), '"for_s": 0.2', '"for_s": 0').encode(),
     "events[1]: for_s = 0 must be above 0"),
    (_with(scenario_text(), '"offset_c": 2', '"offset_c": NaN').encode(),
     "events[2]: offset_c = NaN is not a finite number"),
    (_with(scenario_text(), '"offset_c": 2', '"offset_c": -Infinity').encode(),
     "events[2]: offset_c = -Infinity is not a finite number"),
    (_with(_INLINE, '"target_c": -50', '"target_c": NaN').encode(),
     "profile: target_c = NaN is not a finite number"),
    (_with(_INLINE, '"floor_c": -75', '"floor_c": NaN').encode(),
     "profile: floor_c = NaN is not a finite number"),
    (_with(_INLINE, '"hold_s": 10', '"hold_s": NaN').encode(),
     "profile: hold_s = NaN is not a finite number"),
    (_with(_INLINE, '"hold_s": 10', '"hold_s": Infinity').encode(),
     "profile: hold_s = Infinity is not a finite number"),
    (_with(scenario_text(), '"plant": {}', '"plant": {"cartridge_c": NaN}').encode(),
     "plant: cartridge_c = NaN is not a finite number"),
    (_with(scenario_text(), '"name": "ok"', '"name": ["x", [NaN]]').encode(),
     "name[1][0] = NaN is not a finite number"),
]


@pytest.mark.parametrize("data,message", BAD_SCENARIOS, ids=[m for _, m in BAD_SCENARIOS])
def test_a_bad_scenario_file_is_refused_naming_the_file_and_where(tmp_path, capsys, data,
                                                                   message):
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    trace = tmp_path / "t.csv"
    status, _, err = cryopen(capsys, "simulate", str(path), "--trace", str(trace))
    assert status == 2
    assert str(path) in err and message in err, err
    assert not trace.exists()


@pytest.mark.parametrize("where", ["missing", "directory"])
def test_a_scenario_that_cannot_be_read_is_refused(tmp_path, capsys, where):
    path = tmp_path / "nothing.json"
    if where == "directory":
        path.mkdir()
    status, _, err = cryopen(capsys, "simulate", str(path))
    assert status == 2
    assert "cannot read %s: %s" % (path, "Is a directory" if where == "directory"
                                   else "No such file or directory") in err


@pytest.mark.parametrize("field", [f for f in profiles.FIELDS if f not in ("name", "kind")])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_the_profile_loader_refuses_nan_and_infinity_naming_the_field(field, value):
    d = dict(PROFILE, **{field: value})
    with pytest.raises(profiles.ProfileError, match="profile 'moderate': %s " % field):
        profiles.load(d)


def test_nan_in_a_profile_is_refused_as_not_finite():
    with pytest.raises(profiles.ProfileError, match="floor_c must be a finite number, got nan"):
        profiles.load(dict(PROFILE, floor_c=float("nan")))


# --- traces ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trace_text(tmp_path_factory):
    """A short trace with a fault and its alarm, as `cryopen simulate --trace` writes it."""
    tmp = tmp_path_factory.mktemp("trace")
    doc = {"name": "t", "profile": "moderate", "duration_s": 4,
           "events": [{"t": 1.0, "trigger": True}, {"t": 2.0, "fault": "thermistor_open"},
                      {"t": 3.0, "trigger": False}]}
    (tmp / "s.json").write_text(json.dumps(doc))
    assert cli.main(["simulate", str(tmp / "s.json"), "--trace", str(tmp / "t.csv")]) == 0
    return (tmp / "t.csv").read_text()


def _columns_removed(text, names):
    rows = list(csv.reader(text.splitlines()))
    keep = [i for i, c in enumerate(rows[0]) if c not in names]
    return "".join(",".join(r[i] for i in keep) + "\n" for r in rows)


def _column_blanked(text, name):
    rows = list(csv.reader(text.splitlines()))
    i = rows[0].index(name)
    return "".join(",".join("" if n and j == i else v for j, v in enumerate(r)) + "\n"
                   for n, r in enumerate(rows))


def test_a_good_trace_reads(tmp_path, capsys, trace_text):
    (tmp_path / "t.csv").write_text(trace_text)
    status, out, _ = cryopen(capsys, "logs", str(tmp_path / "t.csv"))
    assert status == 0
    assert "2.00 s  TREATING -> FAULT  end: fault after 1.00 s" in out


def _bad_traces(text):
    lines = text.splitlines(keepends=True)
    cut = next(i for i, l in enumerate(lines) if l.startswith("2.50,"))
    back = lines[:cut] + [lines[cut - 100]] + lines[cut:]
    return {
        "truncated mid-line": ("".join(lines[:cut]) + lines[cut][:9],
                               "line %d: 2 fields where the header has %d (the file is cut "
                               "short)" % (cut + 1, lines[0].count(",") + 1)),
        "renamed header": (text.replace(",state,", ",State,", 1),
                           "line 1: the header has no column state"),
        "header only": (lines[0], "has a header but no rows: nothing to read"),
        "empty": ("", "is empty: nothing to read"),
        "time backwards": ("".join(back), "line %d: t_s = 1.50 is earlier than the line before "
                           "(2.49): time runs backwards" % (cut + 1)),
        "unknown state": (text.replace(",TREATING,", ",FROZEN,", 1),
                          "state = 'FROZEN' is not one of BOOT, IDLE"),
        "unknown alarm": (text.replace(",thermistor_open,thermistor_open,",
                                       ",gremlins,thermistor_open,", 1),
                          "alarm = 'gremlins' is not an alarm of firmware/alarms.py"),
        "unknown fault": (text.replace(",thermistor_open,thermistor_open,",
                                       ",thermistor_open,gremlins,", 1),
                          "fault = 'gremlins': 'gremlins' is not a fault of firmware/alarms.py"),
        "unknown end": (text.replace(",1,fault,0,", ",1,frostbite,0,", 1),
                        "end_reason = 'frostbite' is not one of released"),
        "not a number": (text.replace("\n1.00,", "\none,", 1), "t_s = 'one' is not a number"),
        "nan time": (text.replace("\n1.00,", "\nnan,", 1), "t_s = 'nan' is not a number"),
        "valve not 0 or 1": (text.replace(",TREATING,1,1,", ",TREATING,1,yes,", 1),
                             "valve_cmd = 'yes' is not 0 or 1"),
        "open quote": (lines[0] + '"' + "".join(lines[1:]), "not CSV"),
    }


TRACE_CASES = ("truncated mid-line", "renamed header", "header only", "empty", "time backwards",
               "unknown state", "unknown alarm", "unknown fault", "unknown end", "not a number",
               "nan time", "valve not 0 or 1", "open quote")


@pytest.mark.parametrize("case", TRACE_CASES)
def test_a_bad_trace_is_refused_naming_the_file_and_the_line(tmp_path, capsys, trace_text,
                                                             case):
    text, message = _bad_traces(trace_text)[case]
    assert text != trace_text
    path = tmp_path / "t.csv"
    path.write_text(text)
    status, out, err = cryopen(capsys, "logs", str(path))
    assert status == 2
    assert out == ""  # checked whole before a line is printed
    assert "cryopen logs: %s" % path in err and message in err, err


def test_random_bytes_are_not_a_trace(tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_bytes(bytes(range(256))[::-1] * 8)
    status, _, err = cryopen(capsys, "logs", str(path))
    assert status == 2
    assert "line 1: byte 0xff is not text: not a trace" in err


@pytest.mark.parametrize("where", ["missing", "directory"])
def test_a_trace_that_cannot_be_read_is_refused(tmp_path, capsys, where):
    path = tmp_path / "t.csv"
    if where == "directory":
        path.mkdir()
    status, _, err = cryopen(capsys, "logs", str(path))
    assert status == 2
    assert "cannot read %s" % path in err


def test_an_old_trace_without_the_newer_columns_still_reads(tmp_path, capsys, trace_text):
    path = tmp_path / "old.csv"
    path.write_text(_columns_removed(trace_text, ("end_reason", "master_cmd", "master_open",
                                                  "reading2_c")))
    status, out, _ = cryopen(capsys, "logs", str(path))
    assert status == 0
    assert "2.00 s  TREATING -> FAULT  after 1.00 s" in out
    assert "fault latched: thermistor_open" in out


def test_an_old_trace_that_left_a_watchdog_ending_blank_reads_as_watchdog_reset(tmp_path,
                                                                               capsys):
    summary, _ = simulate("loop_hang_watchdog", tmp_path)
    path = tmp_path / "loop_hang_watchdog.csv"
    path.write_text(_column_blanked(path.read_text(), "end_reason"))
    status, out, _ = cryopen(capsys, "logs", str(path))
    assert status == 0
    assert "4.00 s  TREATING -> FAULT  end: watchdog_reset after 3.00 s" in out


def test_a_watchdog_ending_has_one_name_in_summary_trace_and_log(tmp_path, capsys):
    summary, trace = simulate("loop_hang_watchdog", tmp_path)
    assert [a["end_reason"] for a in summary["applications"]] == ["watchdog_reset"]
    end = summary["applications"][0]["end_s"]
    after = [r for r in trace if float(r["t_s"]) >= end - 1e-9]
    before = [r for r in trace if float(r["t_s"]) < end - 1e-9]
    assert {r["end_reason"] for r in before} == {""}
    assert after[0]["end_reason"] == "watchdog_reset" and after[0]["state"] == "FAULT"
    capsys.readouterr()
    status, out, _ = cryopen(capsys, "logs", str(tmp_path / "loop_hang_watchdog.csv"))
    assert status == 0
    assert "TREATING -> FAULT  end: watchdog_reset after 3.00 s" in out
    assert "restart" not in out


def test_a_power_cut_ending_is_power_lost_until_the_next_application(tmp_path, capsys):
    doc = {"name": "p", "profile": "moderate", "duration_s": 16,
           "events": [{"t": 1, "trigger": True}, {"t": 3, "power": False},
                      {"t": 4, "power": True}, {"t": 5, "trigger": False},
                      {"t": 12, "trigger": True}, {"t": 14, "trigger": False}]}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    trace, summary = tmp_path / "p.csv", tmp_path / "p-summary.json"
    assert cli.main(["simulate", str(tmp_path / "p.json"), "--trace", str(trace),
                     "--summary", str(summary)]) == 0
    apps = json.loads(summary.read_text())["applications"]
    assert [a["end_reason"] for a in apps] == ["power_lost", "released"]
    ends = {r["t_s"]: r["end_reason"] for r in outputs.read_trace(str(trace))}
    assert ends["2.99"] == "" and ends["3.00"] == ends["11.99"] == "power_lost"
    assert ends["12.00"] == "" and ends["14.00"] == "released"
    capsys.readouterr()
    status, out, _ = cryopen(capsys, "logs", str(trace))
    assert "3.00 s  TREATING -> BOOT  end: power_lost after 2.00 s" in out


def test_every_ending_the_trace_names_is_one_the_summary_documents():
    readme = open(os.path.join(ROOT, "README.md")).read()
    summary_part = readme[readme.index("`--summary FILE.json`"):]
    for name in filter(None, logs.END_REASONS):
        assert "`%s`" % name in summary_part, name


# --- flash images and exports ------------------------------------------------------------


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("flash") / "pen.img"
    assert cli.main(["simulate", os.path.join(SCENARIOS, "rest_lockout.json"),
                     "--flash", str(path)]) == 0
    return path


@pytest.mark.parametrize("kind,message", [
    ("missing", "no such file"), ("directory", "Is a directory"),
    ("random", "not a flash image"), ("blocks of noise", "not a littlefs image"),
    ("empty", "not a flash image: 0 bytes")])
def test_a_bad_flash_image_is_refused(tmp_path, capsys, kind, message):
    path = tmp_path / "pen.img"
    if kind == "directory":
        path.mkdir()
    elif kind == "random":
        path.write_bytes(bytes(range(256)) * 7)
    elif kind == "blocks of noise":
        path.write_bytes(bytes((i * 7919) % 251 for i in range(4096 * 4)))
    elif kind == "empty":
        path.write_bytes(b"")
    status, _, err = cryopen(capsys, "logs", "--flash", str(path))
    assert status == 2
    assert str(path) in err and message in err, err


@pytest.mark.parametrize("option", ["--csv", "--json"])
def test_an_export_that_cannot_be_written_is_refused(tmp_path, capsys, image, option):
    (tmp_path / "afile").write_text("")
    for target, message in ((tmp_path, "is a directory"),
                            (tmp_path / "afile" / "x", "afile is a file, not a folder")):
        status, out, err = cryopen(capsys, "logs", "--flash", str(image), option, str(target))
        assert status == 2
        assert "cryopen logs: %s %s" % (option, target) in err and message in err, err
        assert out == ""


@pytest.mark.parametrize("option", ["--csv", "--json"])
def test_an_export_into_a_missing_folder_makes_the_folder(tmp_path, capsys, image, option):
    target = tmp_path / "new" / "folder" / "records"
    status, _, _ = cryopen(capsys, "logs", "--flash", str(image), option, str(target))
    assert status == 0
    assert target.read_text()


def test_a_trace_and_a_flash_image_together_are_refused(tmp_path, capsys, image):
    status, _, err = cryopen(capsys, "logs", str(tmp_path / "t.csv"), "--flash", str(image))
    assert status == 2 and "not both" in err


# --- output paths ------------------------------------------------------------------------


def _simulate_to(capsys, tmp_path, *options):
    path = tmp_path / "s.json"
    path.write_text(json.dumps(GOOD))
    return cryopen(capsys, "simulate", str(path), *options)


def test_a_plot_into_a_missing_folder_makes_the_folder(tmp_path, capsys):
    plot = tmp_path / "new" / "folder" / "p.png"
    status, _, _ = _simulate_to(capsys, tmp_path, "--plot", str(plot))
    assert status == 0
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name,message", [
    ("p.txt", "cannot draw a .txt file; the plot formats are "),
    ("plot", "the name has no ending; the plot formats are ")])
def test_a_plot_format_matplotlib_lacks_is_refused_naming_the_formats(tmp_path, capsys, name,
                                                                      message):
    status, _, err = _simulate_to(capsys, tmp_path, "--plot", str(tmp_path / name),
                                  "--trace", str(tmp_path / "t.csv"))
    assert status == 2
    assert message in err and "png" in err and "svg" in err and "pdf" in err
    assert not (tmp_path / "t.csv").exists()  # refused before the simulation ran


@pytest.mark.parametrize("option", ["--trace", "--summary", "--plot", "--flash"])
def test_an_output_at_a_directory_or_under_a_file_is_refused(tmp_path, capsys, option):
    (tmp_path / "afile").write_text("")
    suffix = {"--trace": ".csv", "--summary": ".json", "--plot": ".png", "--flash": ".img"}
    for target, message in ((tmp_path / ("dir" + suffix[option]), "is a directory"),
                            (tmp_path / "afile" / ("x" + suffix[option]),
                             "afile is a file, not a folder")):
        if "dir" in target.name:
            target.mkdir()
        status, out, err = _simulate_to(capsys, tmp_path, option, str(target))
        assert status == 2, err
        assert str(target) in err and message.lower() in err.lower(), err
        assert out == ""


# --- the last resort ---------------------------------------------------------------------


def test_an_unforeseen_error_is_a_message_and_status_2(capsys, monkeypatch):
    from host_tools.sim import profiles_cmd

    def broken(args):
        raise KeyError("surprise")

    monkeypatch.setattr(profiles_cmd, "run", broken)
    monkeypatch.delenv("CRYOPEN_TRACEBACK", raising=False)
    assert cli.main(["profiles"]) == 2
    err = capsys.readouterr().err
    assert "cryopen profiles: unexpected error" in err and "KeyError: 'surprise'" in err
    assert "Traceback" not in err
    monkeypatch.setenv("CRYOPEN_TRACEBACK", "1")
    with pytest.raises(KeyError):
        cli.main(["profiles"])


def test_a_missing_python_package_says_what_to_install(capsys, monkeypatch):
    from host_tools.sim import profiles_cmd

    def needs(args):
        raise ModuleNotFoundError("No module named 'mypy'", name="mypy")

    monkeypatch.setattr(profiles_cmd, "run", needs)
    monkeypatch.delenv("CRYOPEN_TRACEBACK", raising=False)
    assert cli.main(["profiles"]) == 2
    err = capsys.readouterr().err
    assert "needs the Python package mypy" in err and "make test" in err


@pytest.mark.parametrize("argv,data", [
    (["logs", "{path}"], bytes(range(256))),
    (["logs", "{path}"], b"t_s,state\n1.00,IDLE\n"),
    (["logs", "--flash", "{path}"], b"\0" * 4096),
])
def test_no_traceback_reaches_the_terminal(tmp_path, argv, data):
    """As a user runs it: the console script's process, its stderr as the terminal shows it."""
    path = tmp_path / "input"
    path.write_bytes(data)
    done = subprocess.run([sys.executable, "-c", "from host_tools.cli import entry; entry()"]
                          + [a.replace("{path}", str(path)) for a in argv],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.startswith("cryopen %s: " % argv[0])
    assert str(path) in done.stderr


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`cryopen profiles | head -0`: the pipe's reader is gone before the first line."""
    p = subprocess.Popen([sys.executable, "-c", "from host_tools.cli import entry; entry()",
                          "profiles"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    assert p.wait(timeout=60) == 1
    assert p.stderr.read() == b""


def test_another_pipe_closing_is_a_message_and_status_2(monkeypatch, capsys):
    def main():
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "main", main)
    with pytest.raises(SystemExit) as e:
        cli.entry()
    assert e.value.code == 2
    assert "cryopen: a pipe closed under the command" in capsys.readouterr().err
