"""The virtual pen running the whole firmware (`cryopen virtual-pen --run`): the
boot sequence and the 100 Hz loop on MicroPython, the physical model on the host,
and `cryopen pen` talking to it on the pty exactly as to a board. The test is the
clinician: it presses the trigger and the mode button through the virtual pen's
standard input. One pen for the module: it boots once, and each test picks up the
pen where the one before left it."""
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from host_tools.pens import link_client
from host_tools.pens.virtual_pen import die_with_parent, node_problem

ROOT = Path(__file__).resolve().parents[2]
CRYOPEN = [sys.executable, "-c", "from host_tools.cli import entry; entry()"]
START_TIMEOUT_S = 60
# The sensors of this pen are off the nominal curve by a per-pen tolerance (plant
# parameters), so that calibration has something to correct.
BEADS = {"bead1_r_pct": 3.0, "bead1_beta_pct": 2.0, "bead2_r_pct": -2.5, "bead2_beta_pct": -1.5}
SPEED = 5  # the pen's clock five times real time: the 10 s confirmation window is 2 s here
SWEEP_C = (-80, -60, -40, -20, 0, 20, 30)  # where the calibration's error is measured
TERMINAL_SUMMARY = []


class RunningPen:
    def __init__(self, tmp):
        plant = tmp / "plant.json"
        plant.write_text(json.dumps(BEADS))
        self.proc = subprocess.Popen(
            CRYOPEN + ["virtual-pen", "--run", "--speed", str(SPEED), "--plant", str(plant)],
            cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
            preexec_fn=die_with_parent)
        ready, _, _ = select.select([self.proc.stdout], [], [], START_TIMEOUT_S)
        self.port = self.proc.stdout.readline().strip() if ready else ""
        if not self.port.startswith("/dev/"):
            self.stop()
            pytest.fail("the virtual pen did not report a port (got %r)" % self.port)

    def hands(self, *lines):
        for line in lines:
            self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def pen(self, *args, timeout=60):
        """`cryopen pen ARGS --port PORT` -> (status, stdout, stderr)."""
        done = subprocess.run(CRYOPEN + ["pen"] + list(args) + ["--port", self.port], cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)
        return done.returncode, done.stdout, done.stderr

    def ask(self, *args):
        status, out, err = self.pen(*args, "--json")
        assert status == 0, err
        return json.loads(out)

    def pen_async(self, *args):
        return subprocess.Popen(CRYOPEN + ["pen"] + list(args) + ["--port", self.port], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_for(self, what, timeout_s=40):
        """The pen's status once what(status) holds. Polled over one link rather than
        `cryopen pen status` a few times a second: a Python start-up per poll would
        take a core from the pen's own loop (the tests above run the command itself)."""
        deadline = time.monotonic() + timeout_s
        doc = said = None
        while time.monotonic() < deadline:
            try:
                with link_client.PenLink(self.port) as link:
                    while time.monotonic() < deadline:
                        doc = link.request("status")
                        if what(doc):
                            return doc
                        time.sleep(0.2)
            except link_client.LinkError as e:  # a pen still booting does not answer yet
                said = str(e)
                time.sleep(0.2)
        raise AssertionError("the pen never got there; last status %s %s" % (doc, said))

    def readings_at(self, c):
        """Both sensors' readings with the tip held at c degrees, once steady."""
        self.hands("hold %g" % c)
        with link_client.PenLink(self.port) as link:
            last = None
            for _ in range(100):
                tips = link.request("status")["tip_c"]
                if last == tips and abs(tips[0] - c) < 5:
                    return tips
                last = tips
                time.sleep(0.15)
        raise AssertionError("the readings at %g C never settled: %s" % (c, last))

    def worst_error(self):
        """The largest |reading - tip| of either sensor over SWEEP_C, and where."""
        errors = [(abs(r - c), c) for c in SWEEP_C for r in self.readings_at(c)]
        self.hands("hold off")
        return max(errors)

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


@pytest.fixture(scope="module")
def pen(tmp_path_factory):
    problem = node_problem()
    if problem:
        pytest.fail(problem)
    p = RunningPen(tmp_path_factory.mktemp("virtual_pen_run"))
    yield p
    p.stop()


def test_info_and_status_answer(pen):
    info = pen.ask("info")
    assert info["board"] == "sim" and info["protocol"] >= 1 and info["manifest"]
    status = pen.ask("status")
    assert status["state"] == "IDLE" and status["valve"] is False


def test_select_waits_for_the_press_on_the_pen(pen):
    before = pen.ask("status")["profile"]
    status, out, err = pen.pen("select", "short")
    assert status == 1 and "nothing changed" in err
    assert pen.ask("status")["profile"] == before
    asked = pen.pen_async("select", "short")
    # The port is the client's alone while it waits: it says when the pen asks.
    assert "press the mode button" in asked.stderr.readline()
    pen.hands("mode on")
    time.sleep(0.3)
    pen.hands("mode off")
    out, err = asked.communicate(timeout=30)
    assert asked.returncode == 0, err
    assert pen.ask("status")["profile"] == "short"


def test_an_application_runs_and_is_in_the_log(pen):
    pen.hands("trigger on")
    pen.wait_for(lambda s: s["state"] == "TREATING")
    done = pen.wait_for(lambda s: s["state"] in ("LOCKOUT", "DONE"))
    pen.hands("trigger off")
    assert done["applications"] == 1
    log = pen.ask("log")["records"]
    apps = [r for r in log if r["kind"] == "application"]
    assert [(a["profile"], a["end_reason"]) for a in apps] == [("short", "complete")]
    assert apps[0]["min_c"] < -40


def _read_until(stream, text, timeout_s=60):
    """What a process wrote until text appeared (its prompts end without a newline)."""
    seen = ""
    deadline = time.monotonic() + timeout_s
    fd = stream.fileno()
    while text not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise AssertionError("waited for %r; got %r" % (text, seen))
        chunk = os.read(fd, 4096).decode()
        if not chunk:
            raise AssertionError("it ended before %r; got %r" % (text, seen))
        seen += chunk
    return seen


def _calibrate(pen, baths):
    """`cryopen calibrate` with the tip held in each bath when it asks; True once stored."""
    proc = subprocess.Popen(CRYOPEN + ["calibrate", "--port", pen.port], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for c, typed in baths:
            _read_until(proc.stdout, "press Enter")
            pen.hands("hold %g" % c)  # the tool waits until the readings are steady
            proc.stdin.write(typed + "\n")
            proc.stdin.flush()
        try:
            said = _read_until(proc.stdout, "press the mode button")
        except AssertionError as e:  # it ended without asking: refused
            return proc.wait(timeout=30), str(e) + proc.stderr.read()
        pen.hands("mode on")
        time.sleep(0.3)
        pen.hands("mode off")
        out, err = proc.communicate(timeout=30)
        return proc.returncode, said + out + err
    finally:
        pen.hands("hold off")
        if proc.poll() is None:
            proc.kill()


def test_calibration_brings_both_sensors_within_half_a_degree(pen):
    pen.wait_for(lambda s: s["state"] not in ("TREATING", "LOCKOUT"))
    before = pen.worst_error()  # cold baths latch valve_leak: the pen calibrates in FAULT
    swapped = [(-78.5, ""), (0.0, ""), (22.0, "22.0")]  # the dry ice where ice water was asked
    status, said = _calibrate(pen, swapped)
    assert status == 1 and "swapped" in said, said
    assert pen.ask("calibrate", "get")["next_power_up"] is None
    status, said = _calibrate(pen, [(0.0, ""), (-78.5, ""), (22.0, "22.0")])
    assert status == 0, said
    pen.hands("power")  # a calibration is used from the next power-up
    pen.wait_for(lambda s: True)
    after = pen.worst_error()
    TERMINAL_SUMMARY.append("calibration on the virtual pen: worst error over %d..%d C %.2f C "
                            "(at %g C) before, %.2f C (at %g C) after" % (
                                SWEEP_C[0], SWEEP_C[-1], before[0], before[1], after[0],
                                after[1]))
    assert before[0] > 1.0  # the beads are off: there was something to correct
    assert after[0] <= 0.5
