"""The host's end of the pen's line protocol (docs/PROTOCOL.md), on pyserial.

A request is one line with an id and a checksum; the pen answers under the same
id. Lines that are not replies (what the pen prints at boot, a REPL banner) and
replies with a bad checksum are skipped: only a whole, checked reply counts. A
change answers "pending" at once, then "confirmed" or "expired" once the clinician
has pressed (or not) at the pen; request() waits for that outcome.
"""
import binascii
import itertools
import json
import time

# How long the pen has to answer a request, and a change to be confirmed at the pen
# (the pen's own limit is 10 s; the margin covers the link).
REPLY_TIMEOUT_S = 5.0
CONFIRM_TIMEOUT_S = 15.0
_MAX_REPLY = 1 << 20


class LinkError(Exception):
    """No pen, no answer, or an answer that is not the protocol: a message for the user."""


class Refused(Exception):
    """The pen refused the request: its error code and message."""

    def __init__(self, code, message):
        Exception.__init__(self, "%s: %s" % (code, message))
        self.code = code
        self.message = message


class Expired(Exception):
    """A change nobody confirmed at the pen in time: nothing changed."""


def crc_hex(data):
    return "%08x" % (binascii.crc32(data) & 0xFFFFFFFF)


def request_line(id_, command, args=()):
    """The bytes of one request: id, command, arguments, checksum."""
    text = " ".join([str(id_), command] + [str(a) for a in args]).encode("ascii")
    return text + b" *" + crc_hex(text).encode() + b"\n"


def parse_reply(line):
    """(id, kind, body) of one reply line, or None when the line is no checked reply."""
    line = line.rstrip(b"\r\n")
    at = line.rfind(b" *")
    if at < 0 or len(line) - at != 10 or crc_hex(line[:at]).encode() != line[at + 2:]:
        return None
    try:
        id_, kind, body = line[:at].decode("ascii").split(" ", 2)
    except (UnicodeDecodeError, ValueError):
        return None
    return id_, kind, body


class PenLink:
    """One pen on a serial port. stream: anything with pyserial's read(n) (returning
    what arrived within its timeout), write() and close(); opened from port when
    not given."""

    def __init__(self, port=None, stream=None, baud=115200):
        if stream is None:
            stream = _open(port, baud)
        self.stream = stream
        self._ids = itertools.count(int(time.time()) % 100000 * 100 + 1)
        self._pending = b""
        self.on_pending = None  # called with the pen's "asking" body while it waits

    def close(self):
        self.stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, command, *args):
        """The reply's JSON body. Raises Refused, Expired or LinkError."""
        id_ = str(next(self._ids) % 100000000)
        try:
            self.stream.write(request_line(id_, command, args))
        except OSError as e:
            raise LinkError("cannot write to the pen: %s" % e) from None
        kind, body = self._reply(id_, REPLY_TIMEOUT_S)
        if kind == "pending":
            if self.on_pending is not None:
                self.on_pending(_json(body))
            kind, body = self._reply(id_, CONFIRM_TIMEOUT_S)
        if kind == "err":
            code, _, message = body.partition(" ")
            raise Refused(code, message)
        if kind == "expired":
            raise Expired(body)
        if kind not in ("ok", "confirmed"):
            raise LinkError("the pen answered %r, which is not in the protocol" % kind)
        return _json(body)

    def _reply(self, id_, timeout_s):
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._line(deadline)
            if line is None:
                raise LinkError("no answer from the pen within %.0f s" % timeout_s)
            reply = parse_reply(line)
            if reply is not None and reply[0] == id_:
                return reply[1], reply[2]

    def _line(self, deadline):
        while b"\n" not in self._pending:
            if time.monotonic() > deadline:
                return None
            try:
                got = self.stream.read(4096)
            except OSError as e:
                raise LinkError("cannot read from the pen: %s" % e) from None
            self._pending += got or b""
            if len(self._pending) > _MAX_REPLY:
                raise LinkError("the pen sent %d bytes without an end of line" % len(
                    self._pending))
        line, _, self._pending = self._pending.partition(b"\n")
        return line


def _json(body):
    try:
        return json.loads(body)
    except ValueError:
        raise LinkError("the pen's reply is not JSON: %r" % body[:80]) from None


def _open(port, baud):
    try:
        import serial
    except ImportError:
        raise LinkError("needs pyserial: run `make sim`") from None
    try:
        return serial.Serial(port, baud, timeout=0.05, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as e:
        raise LinkError("cannot open %s: %s" % (port, e)) from None
