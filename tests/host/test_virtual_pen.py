"""End to end on the virtual pen: `cryopen deploy` with the real mpremote, the
deployed firmware run by MicroPython 1.29, the boot gate after a hard reset
(service mode, the integrity check and its alarm), deploy refused outside
service mode, a corrupted file caught at boot and by the hash read-back, a
deploy killed halfway, and no bridge process left behind.

The tests share one virtual pen and run in file order: the corruption tests put
the byte back, and the last tests stop the pen."""
import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mpremote.transport import TransportError
from mpremote.transport_serial import SerialTransport

from hal.integrity import ALARM_HZ, ALARM_OFF_MS, ALARM_ON_MS
from host_tools.pens.virtual_pen import die_with_parent

ROOT = Path(__file__).resolve().parents[2]
CRYOPEN = [sys.executable, "-m", "host_tools.cli"]
MPREMOTE = [sys.executable, "-m", "mpremote"]
START_TIMEOUT_S = 30
RUN_TIMEOUT_S = 60
HOLD_TICKS = 1000  # the moderate profile holds 10 s at target, 100 ticks a second

# Runs on the pen: one moderate freeze on the sim board, with a plant that
# cools while the valve is open and drifts back to 25 C while it is closed.
SCENARIO = """
import json
from boards.sim import board
from firmware import app, pen, profiles, states, thermistor
from hal.fake import FakeHal

class Plant:
    def __init__(self):
        self.tip_c = 25.0

    def empty_cartridge(self):
        pass

plant = Plant()
hal = FakeHal(board, plant)
shell = app.App(hal, pen.build(board, profiles.builtin('moderate')))
log = []
last = None
for tick in range(1300):
    hal.pressed = tick >= 10  # released first: the pen arms on a released trigger
    plant.tip_c += -0.8 if hal.gas_flows else (25 - plant.tip_c) * 0.002
    hal.advance(10)
    out = shell.step()
    now = (states.STATE_NAMES[out.state], hal.valve_open, states.END_NAMES[out.end_reason])
    if now != last:
        log.append((tick,) + now)
        last = now
print('transitions:' + json.dumps(log))
"""


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _children(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError):
                continue
            if ppid == pid:
                found.append(int(entry))
    return found


def _wait_gone(pids, timeout_s=5):
    deadline = time.monotonic() + timeout_s
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def _start_pen():
    """The virtual pen as `cryopen virtual-pen`, in its own process group, and its port."""
    proc = subprocess.Popen(CRYOPEN + ["virtual-pen"], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=die_with_parent)
    ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT_S)
    port = proc.stdout.readline().strip() if ready else ""
    if not port.startswith("/dev/"):
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the virtual pen did not report a port (got %r)" % port)
    return proc, port


def _stop_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # the group has already gone
        pass
    proc.wait()


def _cryopen(*args):
    return subprocess.run(CRYOPEN + list(args), cwd=ROOT, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


def _mpremote(port, code):
    return subprocess.run(MPREMOTE + ["connect", port, "exec", code], cwd=ROOT,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


class Console:
    """The pen's serial line as a terminal holds it open (mpremote's transport):
    what the pen prints at boot, and the REPL without a soft reset."""

    def __init__(self, port, timeout_s=5):
        deadline = time.monotonic() + timeout_s
        while True:  # a killed client may still hold the port for a moment
            try:
                self.serial = SerialTransport(port, baudrate=115200)
                return
            except TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def read_until(self, text, timeout_s=RUN_TIMEOUT_S):
        data = self.serial.read_until(1, text.encode(), timeout=timeout_s,
                                      timeout_overall=timeout_s)
        assert data.endswith(text.encode()), data
        return data.decode("utf-8", "replace")

    def run(self, code):
        """Interrupts what the pen runs (Ctrl-C) and runs code in its raw REPL."""
        self.serial.enter_raw_repl(soft_reset=False)
        out = self.serial.exec(code).decode()
        self.serial.exit_raw_repl()
        return out

    def hard_reset(self):
        """machine.reset(), as `mpremote reset` sends it."""
        self.serial.enter_raw_repl(soft_reset=False)
        self.serial.exec_raw_no_follow("import machine; machine.reset()")
        self.serial.in_raw_repl = False

    def close(self):
        self.serial.close()


class Pen:
    def __init__(self, proc, port):
        self.proc = proc
        self.port = port
        self.bridges = _children(proc.pid)
        self.deploy = _cryopen("deploy", "--port", port, "--board", "sim")

    def console(self):
        return Console(self.port)

    def power_cycle(self, console, service=False):
        """Power off and on (with the reset button held if service); waits for the gate."""
        self.proc.stdin.write("service\n" if service else "power\n")
        self.proc.stdin.flush()
        if service:
            console.read_until("cryopen: service mode, valves closed")


FLIP = ("f = open('/firmware/regulator.mpy', 'r+b')\n"
        "f.seek(40)\n"
        "b = f.read(1)[0]\n"
        "f.seek(40)\n"
        "f.write(bytes([b ^ 0xFF]))\n"
        "f.close()\n")


def alarm_pulses(console):
    """(start ms, length ms, Hz) of each buzzer pulse the pen sounded so far."""
    tones = json.loads(console.run("import json, machine\nprint(json.dumps(machine.tones))"))
    return [(t, t_next - t, hz) for (t, hz), (t_next, _) in zip(tones, tones[1:]) if hz]


@pytest.fixture(scope="module")
def pen():
    proc, port = _start_pen()
    try:
        yield Pen(proc, port)
    finally:
        _stop_group(proc)


def test_deploy_copies_every_file_and_the_hashes_match(pen):
    out = pen.deploy.stdout
    assert pen.deploy.returncode == 0, out + pen.deploy.stderr
    assert "/firmware/pen.mpy" in out and "/hal/fake.mpy" in out and "/boards/sim/board.mpy" in out
    assert "/firmware/pen.py" not in out  # compiled: no module goes over as source
    assert "verified: " in out and "files match by SHA-256" in out
    assert "first install" in out  # the pen started empty
    assert "pen reset" in out


def test_deployed_firmware_imports_from_mpy(pen):
    done = _mpremote(pen.port, "import sys, firmware.pen\n"
                               "print(firmware.pen.__file__, sys.implementation.name)")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.split() == ["firmware/pen.mpy", "micropython"]


def test_a_freeze_runs_on_the_pen_and_closes_at_the_hold_end(pen):
    done = _mpremote(pen.port, SCENARIO)
    assert done.returncode == 0, done.stdout + done.stderr
    line = [ln for ln in done.stdout.splitlines() if ln.startswith("transitions:")]
    log = json.loads(line[0][len("transitions:"):])
    treating = [t for t in log if t[1] == "TREATING"]
    assert treating, log
    assert any(valve for _, _, valve, _ in treating), "the valve never opened"
    assert all(not valve for _, state, valve, _ in log if state != "TREATING"), log
    ends = [i for i in range(1, len(log))
            if log[i - 1][1] == "TREATING" and log[i][1] != "TREATING"]
    assert ends, "the application never ended: %s" % log[-3:]
    tick, state, valve, reason = log[ends[0]]
    assert (state, valve, reason) == ("LOCKOUT", False, "complete")
    assert tick - treating[0][0] > HOLD_TICKS  # cooling down plus the whole hold


def test_after_the_deploy_the_pen_boots_through_its_integrity_check(pen):
    console = pen.console()
    try:
        console.hard_reset()
        console.read_until("cryopen: integrity check passed; the virtual pen is ready")
        assert console.run("import hal.boot\nprint(hal.boot.MODE)").strip() == "run"
    finally:
        console.close()


def test_deploy_is_refused_outside_service_mode(pen):
    for extra in ([], ["--verify"]):
        done = _cryopen("deploy", "--port", pen.port, "--board", "sim", *extra)
        assert done.returncode == 2, done.stdout + done.stderr
        assert done.stderr.startswith("deploy: the pen is not in service mode: it is running "
                                      "its loop."), done.stderr
        assert "Traceback" not in done.stderr and "deploying" not in done.stdout


def test_one_flipped_byte_is_caught_at_boot(pen):
    assert _mpremote(pen.port, FLIP).returncode == 0
    console = pen.console()
    try:
        console.hard_reset()
        console.read_until("cryopen: integrity: firmware/regulator.mpy differs from the "
                           "manifest; valves closed; hold reset at power-up for service mode")
        # The alarm sounds; a power cycle with the reset button held cuts it: service mode.
        pen.power_cycle(console, service=True)
        console.run(FLIP)  # flipped twice: the original again (no soft reset: still in service)
        assert console.run("import hal.boot\nprint(hal.boot.MODE)").strip() == "service"
    finally:
        console.close()


def test_verify_fails_and_names_a_corrupted_file(pen):
    console = pen.console()
    try:
        pen.power_cycle(console, service=True)
        console.run(FLIP)  # no soft reset: that would end service mode
    finally:
        console.close()
    try:
        done = _cryopen("deploy", "--verify", "--port", pen.port, "--board", "sim")
    finally:
        assert _mpremote(pen.port, FLIP).returncode == 0  # flipped twice: the original again
    assert done.returncode == 1
    assert "MISMATCH firmware/regulator.mpy" in done.stderr
    assert "boards/__init__.mpy" not in done.stderr  # an untouched file passes
    assert "verified" not in done.stdout


def test_a_deploy_killed_halfway_leaves_a_pen_that_refuses_to_treat(pen):
    console = pen.console()  # a port holds one client at a time: closed while deploy runs
    try:
        pen.power_cycle(console, service=True)
    finally:
        console.close()
    deploy = subprocess.Popen(CRYOPEN + ["deploy", "--port", pen.port, "--board", "sim"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    copied, said = [], []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while len(copied) < 8 and time.monotonic() < deadline:
        line = deploy.stdout.readline()
        if not line:
            break
        said.append(line)
        copied += re.findall(r"^\[(\d+)/(\d+)\]", line)
    os.killpg(deploy.pid, signal.SIGKILL)  # the deploy and its mpremote, mid-copy
    said.append(deploy.stdout.read())
    deploy.wait()
    assert len(copied) == 8, "".join(said)
    assert int(copied[-1][1]) > 8  # files were still to come
    console = pen.console()
    try:
        pen.power_cycle(console)
        console.read_until("cryopen: integrity: a deploy did not finish (/cryopen_deploying is "
                           "present); valves closed; hold reset at power-up for service mode")
        time.sleep(3 * (ALARM_ON_MS + ALARM_OFF_MS) / 1000)  # a few pulses of the burst
        pulses = alarm_pulses(console)  # Ctrl-C ends the alarm: the REPL is free
        assert len(pulses) >= 3 and {hz for _, _, hz in pulses} == {ALARM_HZ}
        assert all(75 <= length <= 200 for _, length, _ in pulses[:-1]), pulses  # IEC 60601-1-8
        assert console.run("import hal.boot\nprint(hal.boot.MODE)").strip() == "refused"
        pen.power_cycle(console, service=True)  # and the pen takes a deploy again
    finally:
        console.close()
    done = _cryopen("deploy", "--port", pen.port, "--board", "sim")
    assert done.returncode == 0, done.stdout + done.stderr
    console = pen.console()
    try:
        console.hard_reset()
        console.read_until("cryopen: integrity check passed; the virtual pen is ready")
    finally:
        console.close()


def test_stopping_the_pen_ends_every_bridge_process(pen):
    assert pen.bridges, "no bridge process found under the virtual pen"
    pen.proc.send_signal(signal.SIGTERM)  # the pen alone, not its process group
    assert pen.proc.wait(timeout=10) != 0
    assert _wait_gone([pen.proc.pid] + pen.bridges) == []


def test_a_killed_pen_takes_its_bridge_along():
    proc, _ = _start_pen()
    try:
        bridges = _children(proc.pid)
        assert bridges
        proc.kill()  # SIGKILL: no clean-up runs in the pen itself
        proc.wait()
        assert _wait_gone(bridges) == []
    finally:
        _stop_group(proc)
