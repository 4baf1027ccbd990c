"""`cryopen deploy` against a pen simulated at the mpremote boundary: the port
choice, which pens it refuses before writing anything, and the order of the
writes (in-progress mark first, manifest after the files, read-back, mark
removed last, then a hard reset). End to end on the virtual pen:
tests/host/test_virtual_pen.py."""
import hashlib
import json
import types

import pytest

from host_tools import cli
from host_tools.pens import deploy


def port(device, vid=0x2E8A, pid=0x0005, serial="E6614103E7", maker="MicroPython",
         product="Board in FS mode"):
    return types.SimpleNamespace(device=device, vid=vid, pid=pid, serial_number=serial,
                                 manufacturer=maker, product=product)


class FakePen:
    """The pen behind mpremote: answers the probe, keeps copied files, hashes them,
    and records each step of the deploy in `events`."""

    def __init__(self, mode="service", files=(), frozen=(), version=(1, 29, 0)):
        self.state = {"mode": mode, "files": list(files), "frozen": list(frozen),
                      "version": list(version), "deploying": False}
        self.fs = {}
        self.events = []
        self.corrupt = None  # a device path whose bytes change on the way
        self.calls = []

    def __call__(self, port, commands, on_line=print):
        self.calls.append(commands)
        command = []
        for word in commands + ["+"]:
            if word != "+":
                command.append(word)
                continue
            self._run(command, on_line)
            command = []

    def _run(self, command, on_line):
        if command[0] == "reset":
            self.events.append("reset")
        elif command[:2] == ["fs", "cp"]:
            dst = command[3][2:]
            with open(command[2], "rb") as f:
                data = f.read()
            if dst == self.corrupt:
                data = data[:-1] + bytes([data[-1] ^ 1])
            self.fs[dst] = data
            self.events.append("manifest" if dst == deploy.MANIFEST else "file")
        elif "'mode'" in command[1]:
            on_line("cryopen-deploy:" + json.dumps(self.state))
        elif "_sha256" in command[1]:
            self.events.append("read-back")
            hashes = {p: hashlib.sha256(d).hexdigest() for p, d in self.fs.items()}
            on_line("cryopen-deploy:" + json.dumps(hashes))
        elif "os.remove('/cryopen_deploying')" in command[1]:
            self.events.append("mark removed")
        else:
            code = command[1]
            assert code.index("/cryopen_deploying") < code.index("os.mkdir")  # the mark first
            self.events.append("mark")


@pytest.fixture
def pen(mocker):
    fake = FakePen()
    mocker.patch.object(deploy, "_mpremote", fake)
    return fake


def run_deploy(*args):
    return cli.main(["deploy", "--port", "/dev/ttyACM0", "--board", "rp2040_pico"] + list(args))


def squeeze(events):
    return [e for i, e in enumerate(events) if i == 0 or events[i - 1] != e]


# --- the order of the writes -----------------------------------------------------------------
def test_mark_first_then_files_manifest_read_back_mark_removed_and_a_hard_reset(pen, capsys):
    assert run_deploy() == 0
    assert squeeze(pen.events) == ["mark", "file", "manifest", "read-back", "mark removed",
                                   "reset"]
    manifest = json.loads(pen.fs[deploy.MANIFEST])
    assert manifest["board"] == "rp2040_pico"
    assert manifest["files"]["hal/integrity.mpy"] == hashlib.sha256(
        pen.fs["hal/integrity.mpy"]).hexdigest()
    assert "main.py" in manifest["files"] and deploy.MANIFEST not in manifest["files"]
    assert all(c[:2] != ["connect", "auto"] for c in pen.calls)
    assert "pen reset" in capsys.readouterr().out


def test_every_mpremote_call_keeps_the_pen_from_soft_resetting(mocker):
    popen = mocker.patch("subprocess.Popen")
    popen.return_value.stdout = []
    popen.return_value.wait.return_value = 0
    deploy._mpremote("/dev/ttyACM0", ["exec", "pass"])
    argv = popen.call_args.args[0]
    assert argv[argv.index("connect"):argv.index("exec")] == [
        "connect", "/dev/ttyACM0", "+", "resume", "+"]


def test_a_failed_read_back_leaves_the_mark_and_no_reset(pen, capsys):
    pen.corrupt = "firmware/pen.mpy"
    assert run_deploy() == 1
    assert "mark removed" not in pen.events and "reset" not in pen.events
    err = capsys.readouterr().err
    assert "MISMATCH firmware/pen.mpy" in err and "refuses to treat" in err


def test_no_reset_leaves_the_pen_in_service_mode(pen, capsys):
    assert run_deploy("--no-reset") == 0
    assert pen.events[-1] == "mark removed"
    assert "stays in service mode" in capsys.readouterr().out


def test_verify_only_reads(pen):
    pen.state["files"] = ["main.py"]
    assert run_deploy("--verify") == 1  # nothing was copied: every file is missing
    assert squeeze(pen.events) == ["read-back"]


# --- which pens are refused, before anything is written ----------------------------------------
@pytest.mark.parametrize("mode, files, says", [
    ("run", ["main.py", "hal"], "it is running its loop"),
    ("refused", ["main.py", "hal"], "refused to treat at boot"),
    (None, ["main.py", "hal"], "does not report service mode"),
])
def test_a_pen_outside_service_mode_is_refused(pen, capsys, mode, files, says):
    pen.state.update(mode=mode, files=files)
    assert run_deploy() == 2
    assert run_deploy("--verify") == 2
    assert pen.events == []
    err = capsys.readouterr().err
    assert err.startswith("deploy: the pen is not in service mode: ")
    assert says in err and "reset button held" in err and "Traceback" not in err


def test_a_pen_without_cryopen_firmware_takes_a_first_install(pen, capsys):
    pen.state.update(mode=None, files=[])
    assert run_deploy() == 0
    assert "first install" in capsys.readouterr().out


def test_a_frozen_build_is_refused(pen, capsys):
    pen.state.update(frozen=["firmware", "hal", "boards"])
    assert run_deploy() == 2
    assert pen.events == []
    assert "frozen in" in capsys.readouterr().err


def test_an_old_micropython_is_refused(pen, capsys):
    pen.state.update(version=[1, 28, 0])
    assert run_deploy() == 2
    assert "MicroPython 1.28.0; board rp2040_pico needs 1.29.0" in capsys.readouterr().err


# --- the port ----------------------------------------------------------------------------------
def test_port_auto_with_two_candidates_refuses_and_lists_them(mocker, capsys):
    mocker.patch("serial.tools.list_ports.comports", return_value=[
        port("/dev/ttyACM1", serial="E66141", product="Board in FS mode"),
        port("/dev/ttyS0", vid=None, pid=None, serial=None, maker=None, product=None),  # a UART
        port("/dev/ttyACM0", vid=0x303A, pid=0x1001, serial="F4:12:FA", maker="Espressif",
             product="USB JTAG/serial debug unit"),
    ])
    mpremote = mocker.patch.object(deploy, "_mpremote")
    assert cli.main(["deploy", "--port", "auto", "--board", "rp2040_pico"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deploy: 2 USB serial devices found; choose the pen with --port:\n")
    assert ("  /dev/ttyACM0 F4:12:FA 303a:1001 Espressif USB JTAG/serial debug unit\n"
            "  /dev/ttyACM1 E66141 2e8a:0005 MicroPython Board in FS mode\n") in err
    assert "/dev/ttyS0" not in err
    mpremote.assert_not_called()


def test_port_auto_takes_the_only_usb_serial_device(mocker):
    mocker.patch("serial.tools.list_ports.comports", return_value=[
        port("/dev/ttyS0", vid=None, pid=None), port("/dev/ttyACM0")])
    assert deploy.resolve_port("auto") == "/dev/ttyACM0"
    assert deploy.resolve_port("/dev/ttyUSB3") == "/dev/ttyUSB3"


def test_port_auto_without_a_device_says_so(mocker):
    mocker.patch("serial.tools.list_ports.comports", return_value=[])
    with pytest.raises(deploy.DeployError, match="no USB serial device found"):
        deploy.resolve_port("auto")


# --- errors are messages -----------------------------------------------------------------------
def test_a_port_that_is_not_there_is_a_message_with_status_2(capsys, tmp_path):
    assert cli.main(["deploy", "--port", str(tmp_path / "ttyNONE"), "--board", "sim"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("deploy: mpremote failed on ") and "Traceback" not in err


def test_an_unknown_board_is_a_message_with_status_2(pen, capsys):
    assert cli.main(["deploy", "--port", "/dev/ttyACM0", "--board", "nope"]) == 2
    assert "no board named 'nope'" in capsys.readouterr().err
    assert pen.calls == []
