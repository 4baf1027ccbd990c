"""The host link on a bench: a pen in any state (tests/core/pen_rig.py), its
protocol (firmware/protocol.py) with hooks that note what they were asked, and a
host that sends lines and checks every reply. Runs under CPython and MicroPython."""
import binascii
import json

from boards.sim import board
from firmware import profiles, protocol, record, states
from tests.core.pen_rig import Rig, profile

STATES = ("IDLE", "TREATING", "LOCKOUT", "DONE", "FAULT")


def pen_in(name):
    """A Rig whose pen is in the state named, offering every built-in profile."""
    prof = profile("moderate", cycles=1) if name == "DONE" else profile("moderate")
    rig = Rig(prof)
    others = tuple(p for p in profiles.all_builtin() if p.name != prof.name)
    rig.pen.offer((prof,) + others, 0)
    if name in ("TREATING", "LOCKOUT", "DONE"):
        rig.press()
        rig.run_ms(300)
    if name in ("LOCKOUT", "DONE"):
        rig.release()
    if name == "DONE":
        rig.run_ms(8800)
    if name == "FAULT":
        rig.tick(raw=65535)
    if states.STATE_NAMES[rig.pen.state] != name:
        raise AssertionError("wanted %s, got %s" % (name, states.STATE_NAMES[rig.pen.state]))
    return rig


class Hooks:
    """The shell's side, noting every call."""

    def __init__(self, n_records=40):
        self.calls = []
        self.raw = [record.encode(record.SESSION, 2, 1000 * i, 0, (i, "moderate"))
                    for i in range(n_records)]
        self.raw[3] = bytes([3, 1]) + bytes(62)  # a damaged one: its CRC does not match
        self.fail = None

    def records(self, start, count):
        self.calls.append(("records", start, count))
        if self.fail is not None:
            raise self.fail
        first = 8
        end = first + len(self.raw)
        out = []
        for i in range(max(start, first), end):
            if len(out) >= count:
                break
            out.append((i, "%08d.bin@%d" % (i // 64, (i % 64) * 64), self.raw[i - first], None))
        return first, end, out

    def clock(self, epoch_s, now_ms):
        self.calls.append(("clock", epoch_s, now_ms))

    def save(self, what, value, now_ms):
        self.calls.append(("save", what, value))
        return True

    def service(self):
        self.calls.append(("service",))


class Clinic:
    """firmware/startup.py's Clinic, as far as the protocol uses it."""

    def __init__(self, pen):
        self.problem = None
        self.choices = pen.choices
        self.start = pen.choice
        self.installed = []

    def install(self, pen, d, now_ms):
        from firmware import config
        choices, start = config.load(d)
        self.installed.append(d)
        self.choices, self.start = choices, start
        pen.offer(choices, start)


def parse(line):
    """(id, kind, body) of one reply line (bytes, with its newline); raises
    AssertionError when it is not well formed: ASCII, a known kind, an id, JSON
    where JSON belongs, a known error code, and its checksum."""
    if not line.endswith(b"\n") or b"\n" in line[:-1] or b"\r" in line:
        raise AssertionError("not one line: %r" % line)
    for b in line[:-1]:
        if b < 0x20 or b > 0x7E:
            raise AssertionError("not printable ASCII: %r" % line)
    text = line[:-1].decode()
    cut = text.rfind(" *")
    if cut < 0 or len(text) - cut != 10:
        raise AssertionError("no checksum: %r" % line)
    if int(text[cut + 2:], 16) != binascii.crc32(text[:cut].encode()) & 0xFFFFFFFF:
        raise AssertionError("wrong checksum: %r" % line)
    parts = text[:cut].split(" ", 2)
    if len(parts) != 3:
        raise AssertionError("not id, kind, body: %r" % line)
    id_, kind, body = parts
    if not (id_ == protocol.NO_ID or (id_.isdigit() and len(id_) <= 8)):
        raise AssertionError("bad id: %r" % line)
    if kind not in protocol.KINDS:
        raise AssertionError("bad kind: %r" % line)
    if kind == protocol.ERR:
        code = body.split(" ", 1)[0]
        if code not in protocol.CODES or len(body.split(" ", 1)) != 2:
            raise AssertionError("bad error: %r" % line)
        return id_, kind, body
    value = json.loads(body)
    if not isinstance(value, dict):
        raise AssertionError("body not an object: %r" % line)
    return id_, kind, value


class Host:
    """Sends lines to a protocol and reads back every reply, in chunks of `chunk`
    bytes, each line checked by parse()."""

    def __init__(self, proto, chunk=17):
        self.p = proto
        self.chunk = chunk
        self.pending = b""
        self.replies = []

    def send(self, data):
        """Feeds bytes as the shell does (only while ready) and drains the replies."""
        while data:
            n = self.p.feed(data)
            if n == 0:
                self.drain()
                n = self.p.feed(data)
                if n == 0:
                    raise AssertionError("not ready after its replies were sent")
            if n > protocol.FEED_MAX:
                raise AssertionError("took %d bytes in one feed" % n)
            data = data[n:]
        return self.drain()

    def drain(self):
        got = []
        while True:
            c = self.p.chunk(self.chunk)
            if c is None:
                break
            if len(c) > self.chunk or len(c) == 0:
                raise AssertionError("chunk of %d bytes" % len(c))
            self.pending += bytes(c)
            self.p.sent(len(c))
            while b"\n" in self.pending:
                i = self.pending.index(b"\n") + 1
                got.append(parse(self.pending[:i]))
                self.pending = self.pending[i:]
        self.replies.extend(got)
        return got

    def ask(self, line):
        """The replies to one request line (without its newline)."""
        return self.send(line.encode() + b"\n")

    def one(self, line):
        got = self.ask(line)
        if len(got) != 1:
            raise AssertionError("%d replies to %r" % (len(got), line))
        return got[0]


def rig_and_host(state="IDLE", hooks=None, clinic=False, rigs=None, **kw):
    """A pen in state, its protocol and a host. rigs: a dict of pens by state to take
    the pen from (made once), for callers that prove the pen unchanged after each use."""
    if rigs is None:
        rig = pen_in(state)
    else:
        if state not in rigs:
            rigs[state] = pen_in(state)
        rig = rigs[state]
    hooks = hooks or Hooks()
    c = Clinic(rig.pen) if clinic else None
    proto = protocol.Protocol(rig.pen, board, info={"boot_count": 7}, records=hooks.records,
                              clock=hooks.clock, save=hooks.save, service=hooks.service,
                              clinic=c, **kw)
    proto.poll(rig.t)
    return rig, proto, Host(proto), hooks


def snapshot(pen, proto=None):
    """What no unconfirmed request may change."""
    sup = pen.sup
    out = pen.out
    snap = (pen.state, pen.profile.name, tuple(p.name for p in pen.choices), pen.choice,
            pen.session, sup.fault, sup.rest_end_ms, sup.applications, sup.open_ms,
            out.valve, out.master, pen.thermistor.table[100], pen.thermistor2.table[100],
            pen.armed)
    if proto is not None:
        snap += (proto.calibration.sensors, proto.calibration_next, proto.service_due)
    return snap
