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
"""
import ctypes
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

    def __init__(self, node="node"):
        self.node = node
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
        try:
            self.bridge = subprocess.Popen([self.node, str(BRIDGE), "--control", str(control)],
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                           cwd=BRIDGE.parent, pass_fds=(control,),
                                           preexec_fn=die_with_parent)
        finally:
            os.close(control)
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
            readable, writable, _ = select.select(readers, writers, [])
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
        if line in ("power", "service"):
            self.power_cycle(service=line == "service")
        elif line:
            print("virtual pen: unknown command %r (power, service)" % line, file=sys.stderr)

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
        for fd in (self._master, self._slave, self._control):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = self._control = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


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
    with VirtualPen(args.node) as pen:
        print(pen.port, flush=True)
        print("virtual pen on %s: its files live in memory; type power or service (power-up "
              "with the reset button held) and Enter to power-cycle it" % pen.port,
              file=sys.stderr, flush=True)
        status = pen.serve(commands)
    print("virtual pen: the bridge exited with status %s" % status, file=sys.stderr)
    return 1
