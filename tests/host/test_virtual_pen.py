"""End to end on the virtual pen: `cryopen deploy` with the real mpremote, the
deployed firmware run by MicroPython 1.29, a corrupted file caught by the hash
read-back, and no bridge process left behind.

The tests share one virtual pen and run in file order: the corruption test
puts the byte back, and the last test stops the pen."""
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host_tools.virtual_pen import die_with_parent

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
hal = FakeHal(thermistor.from_board(board), plant)
shell = app.App(hal, pen.build(board, profiles.builtin('moderate')))
log = []
last = None
for tick in range(1300):
    hal.pressed = tick >= 10  # released first: the pen arms on a released trigger
    plant.tip_c += -0.8 if hal.valve_open else (25 - plant.tip_c) * 0.002
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
    proc = subprocess.Popen(CRYOPEN + ["virtual-pen"], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=die_with_parent)
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


class Pen:
    def __init__(self, proc, port):
        self.proc = proc
        self.port = port
        self.bridges = _children(proc.pid)
        self.deploy = _cryopen("deploy", "--port", port, "--board", "sim")


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
    assert "pen soft-reset" in out


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


def test_verify_fails_and_names_a_corrupted_file(pen):
    flip = ("f = open('/firmware/regulator.mpy', 'r+b')\n"
            "f.seek(40)\n"
            "b = f.read(1)[0]\n"
            "f.seek(40)\n"
            "f.write(bytes([b ^ 0xFF]))\n"
            "f.close()\n")
    assert _mpremote(pen.port, flip).returncode == 0
    try:
        done = _cryopen("deploy", "--verify", "--port", pen.port, "--board", "sim")
    finally:
        assert _mpremote(pen.port, flip).returncode == 0  # flipped twice: the original again
    assert done.returncode == 1
    assert "MISMATCH firmware/regulator.mpy" in done.stderr
    assert "boards/__init__.mpy" not in done.stderr  # an untouched file passes
    assert "verified" not in done.stdout


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
