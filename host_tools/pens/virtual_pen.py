"""`cryopen virtual-pen`: a pen on a pseudo-terminal, for deploying and
testing without hardware.

MicroPython 1.29 (the WebAssembly port, run by Node) answers on the slave side
of a pty, so mpremote and `cryopen deploy` talk to it as to a board on a
serial port. Prints the port path on the first line of stdout, then relays
bytes until it is killed. The bridge script (virtual_pen_bridge.mjs) adds the
soft reset, raw-paste mode and POSIX errno numbers that the port lacks, and
boots as a board does: at power-up and at machine.reset() (`mpremote reset`) it
runs boot.py and then main.py on the files it holds, which on a pen deployed
with `--board sim` is the device's gate: service mode, the integrity check and
its alarm.

The pen keeps its files in memory for as long as it runs; it starts empty. Lines
on standard input power-cycle it: `power`, or `service` to power it up with the
reset button held (service mode).

With --run the pen starts with the `sim` board's firmware deployed and runs it:
the real boot sequence and 100 Hz loop on the MicroPython interpreter
(boards/sim/virtual_hal.py), the physical model here on the host, one exchange
per tick, and the pen's serial line on the pty. More lines on standard input
then act as the clinician's hands: `trigger on|off`, `mode on|off`, `reset`,
`contact on|off` (tip on skin or in air), `tilted on|off`, and `hold C` / `hold
off` holds the tip at C degrees (in a reference bath, for calibration). --speed N
runs the pen's clock N times faster than real time, as far as the interpreter
keeps up; --plant FILE.json sets the physical model's parameters, as a scenario's
"plant" object does (the beads' tolerances among them).
"""
import ctypes
import hashlib
import errno
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tty
from pathlib import Path

BRIDGE = Path(__file__).with_name("virtual_pen_bridge.mjs")
from host_tools.paths import ROOT
# The MicroPython WebAssembly port, which `npm ci` (and `make test`) installs; Node
# resolves it from the bridge's folder upwards, as from tests/mpy/run.mjs.
MICROPYTHON_NPM = Path("node_modules", "@micropython", "micropython-webassembly-pyscript")
SETUP = "run `make test` once, or `npm ci` in %s"
_PR_SET_PDEATHSIG = 1
_CHUNK = 4096


def die_with_parent():
    """For preexec_fn: the kernel sends SIGTERM to the child when its parent dies,
    even when the parent is killed with SIGKILL and runs no clean-up."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class VirtualPen:
    """The pty and the Node bridge behind it. Use as a context manager, or call
    start(), serve() and stop()."""

    def __init__(self, node="node", run=False, speed=1, plant_params=None):
        self.held_c = None  # the tip held at a reference temperature, or None
        self.node = node
        self.run = run
        self.speed = speed
        self.plant = None
        if run:
            from host_tools.sim.plant import Plant

            self.plant = Plant(**(plant_params or {}))
        self.hands = {"trigger": False, "mode": False, "reset": False}
        self._plant_in = self._plant_out = None
        self._staging = None
        self._plant_pending = b""
        self.port = None
        self.bridge = None
        self._master = self._slave = None
        self._control = None
        self._to_host = b""

    def start(self):
        self._master, self._slave = pty.openpty()
        # Raw slave: no echo, no newline translation, so mpremote's bytes pass
        # unchanged. Holding the slave open keeps the pty alive between clients.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        control, self._control = os.pipe()
        argv = [self.node, str(BRIDGE), "--control", str(control)]
        keep = [control]
        if self.run:
            # The bridge reads replies on its end of one pipe and writes requests on the other.
            replies, self._plant_out = os.pipe()
            self._plant_in, requests = os.pipe()
            keep += [replies, requests]
            self._staging = _deployed_sim_files()
            argv += ["--run", "--speed", str(self.speed), "--plant", "%d,%d" % (replies, requests),
                     "--preload", self._staging.name]
        try:
            self.bridge = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           cwd=BRIDGE.parent, pass_fds=keep,
                                           preexec_fn=die_with_parent)
        finally:
            for fd in keep:
                os.close(fd)
        return self

    def power_cycle(self, service=False):
        """Cuts the pen's power and powers it up again, with the reset button held
        if service (service mode). Its files stay."""
        _write_all(self._control, b"service\n" if service else b"power\n")

    def serve(self, commands=None):
        """Relays bytes until the bridge exits; returns its exit status. commands: a
        file descriptor whose lines ("power", "service") power-cycle the pen."""
        from_bridge = self.bridge.stdout.fileno()
        to_bridge = self.bridge.stdin.fileno()
        pending = b""
        while True:
            writers = [self._master] if self._to_host else []
            readers = [self._master, from_bridge] + ([commands] if commands is not None else [])
            if self._plant_in is not None:
                readers.append(self._plant_in)
            readable, writable, _ = select.select(readers, writers, [])
            if self._plant_in in readable:
                self._plant_requests(os.read(self._plant_in, _CHUNK))
            if commands in readable:
                data = os.read(commands, _CHUNK)
                if not data:
                    commands = None  # no more commands: the pen runs on
                pending += data
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    self._command(line.decode("ascii", "replace").strip())
            if from_bridge in readable:
                data = os.read(from_bridge, _CHUNK)
                if not data:
                    return self.bridge.wait()
                self._to_host += data
            if self._master in readable:
                _write_all(to_bridge, os.read(self._master, _CHUNK))
            if self._to_host and (self._master in writable or from_bridge in readable):
                self._send_to_host()

    def _command(self, line):
        words = line.split()
        if line in ("power", "service"):
            self.power_cycle(service=line == "service")
        elif self.run and line == "reset":
            self.hands["reset"] = True  # a press: taken by the next tick
        elif self.run and len(words) == 2 and words[0] == "hold":
            self._hold(words[1])
        elif (self.run and len(words) == 2 and words[0] in ("trigger", "mode", "contact", "tilted")
              and words[1] in ("on", "off")):
            on = words[1] == "on"
            if words[0] in self.hands:
                self.hands[words[0]] = on
            else:
                setattr(self.plant, words[0], on)
        elif line:
            print("virtual pen: unknown command %r (%s)" % (line, COMMANDS if self.run else
                                                          "power, service"), file=sys.stderr)

    def _hold(self, word):
        if word == "off":
            self.held_c = None
            return
        try:
            c = float(word)
        except ValueError:
            c = float("nan")
        if not -100.0 <= c <= 60.0:
            print("virtual pen: hold takes a temperature from -100 to 60 C, or off; got %r"
                  % word, file=sys.stderr)
            return
        self.held_c = c

    def _plant_requests(self, data):
        """Each request "MS GAS" moves the model MS milliseconds, with gas reaching the
        tip when GAS is 1; the reply is the tip and handle temperatures and the hands."""
        if not data:
            self._plant_in = None  # the bridge is gone; serve() sees it on its stdout
            return
        self._plant_pending += data
        *lines, self._plant_pending = self._plant_pending.split(b"\n")
        for line in lines:
            ms, gas = line.split()
            plant = self.plant
            if self.held_c is not None:
                # The bath holds the tip whatever the valves do; moving it between baths
                # takes it there at HOLD_C_PER_S, well inside what the supervisor's rate
                # check allows (a jump would latch rate_implausible, as on a pen).
                step = HOLD_C_PER_S * int(ms) / 1000.0
                plant.tip_c += max(-step, min(step, self.held_c - plant.tip_c))
            elif int(ms):
                plant.step(int(ms) / 1000.0, gas == b"1")
            hands = self.hands
            reply = "%.3f %.3f %d %d %d %.3f %.3f\n" % (
                plant.tip_c, plant.handle_c, hands["trigger"], hands["mode"], hands["reset"],
                plant.bead_c(1), plant.bead_c(2))
            hands["reset"] = False
            _write_all(self._plant_out, reply.encode())

    def _send_to_host(self):
        # A host that does not read fills the pty; keep the rest for later
        # rather than block the bridge.
        try:
            sent = os.write(self._master, self._to_host)
        except BlockingIOError:
            return
        self._to_host = self._to_host[sent:]

    def stop(self):
        if self.bridge is not None and self.bridge.poll() is None:
            self.bridge.terminate()
            try:
                self.bridge.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.bridge.kill()
                self.bridge.wait()
        for fd in (self._master, self._slave, self._control, self._plant_in, self._plant_out):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = self._control = self._plant_in = self._plant_out = None
        if self._staging is not None:
            self._staging.cleanup()
            self._staging = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


HOLD_C_PER_S = 100.0
COMMANDS = ("power, service, trigger on|off, mode on|off, reset, contact on|off, tilted on|off, "
            "hold C|off")


def _deployed_sim_files():
    """A folder holding what `cryopen deploy --board sim --source` leaves on a pen."""
    import tempfile

    from host_tools.pens import deploy

    staging = tempfile.TemporaryDirectory(prefix="cryopen-virtual-pen-")
    root = Path(staging.name)
    hashes = {}
    for src, dst in deploy.stage("sim", root / "_compiled", False):
        target = root / dst
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        hashes[dst] = hashlib.sha256(target.read_bytes()).hexdigest()
    shutil.rmtree(root / "_compiled", ignore_errors=True)
    (root / deploy.MANIFEST).write_text(deploy.manifest_text("sim", hashes))
    return staging


def plant_file(path):
    """The physical model's parameters from a JSON object in path, checked as a
    scenario's "plant" is; ValueError naming the file and the parameter."""
    import json

    from host_tools import text_file
    from host_tools.sim.plant import checked_params

    text = text_file.decode(path, text_file.read_bytes(path, ValueError), ValueError,
                            "plant parameters are a JSON object", "UTF-8")
    try:
        params = json.loads(text)
    except ValueError as e:
        raise ValueError("%s is not JSON: %s" % (path, e)) from None
    if not isinstance(params, dict):
        raise ValueError("%s: plant parameters are a JSON object" % path)
    try:
        checked_params(params)
    except ValueError as e:
        raise ValueError("%s: %s" % (path, e)) from None
    return params


def _write_all(fd, data):
    while data:
        try:
            data = data[os.write(fd, data):]
        except OSError as e:
            if e.errno != errno.EINTR:
                raise


def node_problem(node="node", root=None):
    """What stops Node from running MicroPython here, with what to run, or None.
    For the commands that need it (virtual-pen, bench), before they start."""
    root = Path(root or ROOT)
    setup = SETUP % root
    if shutil.which(node) is None:
        return ("needs Node.js (%s not found%s): install Node 20 or later, then %s"
                % (node, "" if os.sep in node else " on PATH", setup))
    if not (root / MICROPYTHON_NPM / "package.json").is_file():
        return ("needs the MicroPython WebAssembly port from npm (%s is missing): %s"
                % (root / MICROPYTHON_NPM, setup))
    return None


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def add_arguments(p):
    p.add_argument("--node", default="node", help="the Node.js executable (default: node)")
    p.add_argument("--run", action="store_true", dest="run_firmware",
                   help="deploy the sim board's firmware and run it, with the physical model on "
                        "the host and the pen's serial line on the port")
    p.add_argument("--speed", type=int, default=1, choices=range(1, 11), metavar="N",
                   help="with --run: the pen's clock N times real time, 1 to 10 (default 1)")
    p.add_argument("--plant", metavar="FILE.json",
                   help="with --run: the physical model's parameters, as a scenario's \"plant\"")


def run(args):
    problem = node_problem(args.node)
    if problem:
        print("cryopen virtual-pen: %s" % problem, file=sys.stderr)
        return 2
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    try:
        commands = sys.stdin.fileno()
        os.fstat(commands)
    except (AttributeError, ValueError, OSError):  # no standard input at all
        commands = None
    params = None
    if args.plant:
        try:
            params = plant_file(args.plant)
        except ValueError as e:
            print("cryopen virtual-pen: %s" % e, file=sys.stderr)
            return 2
    with VirtualPen(args.node, run=args.run_firmware, speed=args.speed,
                    plant_params=params) as pen:
        print(pen.port, flush=True)
        if args.run_firmware:
            print("virtual pen on %s runs the sim board's firmware; lines on standard input: %s"
                  % (pen.port, COMMANDS), file=sys.stderr, flush=True)
        else:
            print("virtual pen on %s: its files live in memory; type power or service (power-up "
                  "with the reset button held) and Enter to power-cycle it" % pen.port,
                  file=sys.stderr, flush=True)
        status = pen.serve(commands)
    print("virtual pen: the bridge exited with status %s" % status, file=sys.stderr)
    return 1
