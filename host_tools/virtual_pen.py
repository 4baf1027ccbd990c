"""`cryopen virtual-pen`: a pen on a pseudo-terminal, for deploying and
testing without hardware.

MicroPython 1.29 (the WebAssembly port, run by Node) answers on the slave side
of a pty, so mpremote and `cryopen deploy` talk to it as to a board on a
serial port. Prints the port path on the first line of stdout, then relays
bytes until it is killed. The bridge script (virtual_pen_bridge.mjs) adds the
soft reset, raw-paste mode and POSIX errno numbers that the port lacks.
"""
import ctypes
import errno
import os
import pty
import select
import signal
import subprocess
import sys
import tty
from pathlib import Path

BRIDGE = Path(__file__).with_name("virtual_pen_bridge.mjs")
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
        self._to_host = b""

    def start(self):
        self._master, self._slave = pty.openpty()
        # Raw slave: no echo, no newline translation, so mpremote's bytes pass
        # unchanged. Holding the slave open keeps the pty alive between clients.
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self.bridge = subprocess.Popen([self.node, str(BRIDGE)], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, cwd=BRIDGE.parent,
                                       preexec_fn=die_with_parent)
        return self

    def serve(self):
        """Relays bytes until the bridge exits; returns its exit status."""
        from_bridge = self.bridge.stdout.fileno()
        to_bridge = self.bridge.stdin.fileno()
        while True:
            writers = [self._master] if self._to_host else []
            readable, writable, _ = select.select([self._master, from_bridge], writers, [])
            if from_bridge in readable:
                data = os.read(from_bridge, _CHUNK)
                if not data:
                    return self.bridge.wait()
                self._to_host += data
            if self._master in readable:
                _write_all(to_bridge, os.read(self._master, _CHUNK))
            if self._to_host and (self._master in writable or from_bridge in readable):
                self._send_to_host()

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
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

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


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def add_arguments(p):
    p.add_argument("--node", default="node", help="the Node.js executable (default: node)")


def run(args):
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    with VirtualPen(args.node) as pen:
        print(pen.port, flush=True)
        status = pen.serve()
    print("virtual pen: the bridge exited with status %s" % status, file=sys.stderr)
    return 1
