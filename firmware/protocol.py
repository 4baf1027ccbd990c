"""The pen's side of the host link: a line protocol on the USB serial. Pure: bytes
in, reply bytes out; the shell (hal/link.py) moves them, a bounded number per
loop iteration. docs/PROTOCOL.md is the reference.

    request  <id> <command> [<arg> ...] [*<crc>]\\n     printable ASCII, MAX_LINE bytes at most
    reply    <id> ok|pending|confirmed|expired <json> *<crc>\\n
             <id> err <CODE> <message> *<crc>\\n

id: 1 to 8 digits, echoed; "-" when a line had none that could be trusted.
crc: CRC-32 (binascii.crc32) of the bytes before " *", 8 lower-case hex digits;
optional on a request (a damaged one is refused), always on a reply.

Reading is free. A change (select, config set, calibration set, service) takes
effect only when the clinician presses the mode button within CONFIRM_MS, with
the pen showing what is asked (asking()); it is refused while the pen treats or
rests. The reply is "pending" at once, and "confirmed", "expired" or an error
later, under the same id. Nothing here opens a valve, shortens a rest, clears a
fault, starts a session or lifts a limit: the changes go through the same
loaders and the same pen methods as at the pen.
"""
import binascii
import json

from firmware import alarms, calibration as cal_mod, config as config_mod, profiles, record, \
    states, thermistor
from firmware.compat import const, ticks_diff

VERSION = const(1)  # the protocol's version, in `info`; docs/PROTOCOL.md, "Versions"
FIRMWARE_VERSION = "0.1.0"  # the firmware release (the mip package's version)

# A stored configuration (up to 4 KiB) fits on one line with its id and command.
MAX_LINE = const(4224)
FEED_MAX = const(64)  # bytes one feed() call takes at most
CONFIRM_MS = const(10000)  # the clinician's time to confirm a change at the pen
LOG_PAGE_MAX = const(16)  # records per `log` reply
OUT_MAX = const(3)  # replies queued; the last place is kept for a change's outcome
MSG_MAX = const(200)  # characters of an error message
_ID_DIGITS = const(8)
# The record's wall time is a u32; a clock before 2024 is a host that does not know the time.
CLOCK_MIN_S = 1704067200
CLOCK_MAX_S = 0xFFFFFFFF
LOG_INDEX_MAX = 100000000 * 64 - 1  # eight-digit file numbers, 64 records each

NO_ID = "-"

# Reply kinds.
OK = "ok"
ERR = "err"
PENDING = "pending"
CONFIRMED = "confirmed"
EXPIRED = "expired"
KINDS = (OK, ERR, PENDING, CONFIRMED, EXPIRED)

# Error codes: docs/PROTOCOL.md, "Errors".
FRAMING = "FRAMING"  # not a request line: bytes outside printable ASCII, no id, no command
TOOLONG = "TOOLONG"  # longer than MAX_LINE; the whole line is discarded
CHECKSUM = "CHECKSUM"  # the line's checksum is malformed or does not match
UNKNOWN = "UNKNOWN"  # no such command
ARGS = "ARGS"  # wrong number or type of arguments
RANGE = "RANGE"  # a number outside its limits
INVALID = "INVALID"  # refused by the loader (the field and the limit), or no such profile
STATE = "STATE"  # not in the pen's present state
BUSY = "BUSY"  # another change is waiting for its confirmation
UNSUPPORTED = "UNSUPPORTED"  # this pen cannot do it (no record, no clock, no service reboot)
INTERNAL = "INTERNAL"  # the pen failed to answer; nothing changed
CODES = (FRAMING, TOOLONG, CHECKSUM, UNKNOWN, ARGS, RANGE, INVALID, STATE, BUSY, UNSUPPORTED,
         INTERNAL)

# The states in which each change may be asked and confirmed: never TREATING or LOCKOUT.
_IDLE_ONLY = (states.IDLE,)
_AT_REST = (states.IDLE, states.DONE)
# A tip in a cold bath with the valves shut is what a leaking valve looks like, so the
# supervisor latches valve_leak during a bench calibration: it goes on in FAULT too,
# where both valves are held closed.
_BENCH = (states.IDLE, states.DONE, states.FAULT)
CHANGES = {"select": _IDLE_ONLY, "config": _AT_REST, "calibration": _BENCH,
           "service": _IDLE_ONLY}

_CR = const(13)
_LF = const(10)


class _Refusal(Exception):
    """A request refused: args are (code, message)."""


def crc_hex(data, crc=0):
    return "%08x" % (binascii.crc32(data, crc) & 0xFFFFFFFF)


def _ascii(text):
    """text with every non-ASCII character as a JSON escape: replies are ASCII."""
    if len(text.encode()) == len(text):
        return text
    out = []
    for ch in text:
        o = ord(ch)
        if o < 0x80:
            out.append(ch)
        elif o > 0xFFFF:
            o -= 0x10000
            out.append("\\u%04x\\u%04x" % (0xD800 + (o >> 10), 0xDC00 + (o & 0x3FF)))
        else:
            out.append("\\u%04x" % o)
    return "".join(out)


def _clean(message):
    """An error message as one line of printable ASCII, at most MSG_MAX characters."""
    out = []
    for ch in str(message):
        out.append(ch if " " <= ch <= "~" else "?")
        if len(out) >= MSG_MAX:
            out.append("...")
            break
    return "".join(out)


def _dumps(value):
    return _ascii(json.dumps(value))


def _whole(text, what):
    """A whole number from a decimal argument."""
    digits = text[1:] if text[:1] == "-" else text
    if not digits or not digits.isdigit():
        raise _Refusal(ARGS, "%s must be a whole number, got %s" % (what, text))
    if len(digits) > 12:
        raise _Refusal(RANGE, "%s = %s is out of range" % (what, text))
    return int(text)


def _json_arg(text, what):
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        raise _Refusal(ARGS, "%s must be JSON" % what)
    if not isinstance(value, dict):
        raise _Refusal(ARGS, "%s must be a JSON object" % what)
    return value


def _reply(id_, kind, body):
    """One whole reply line, as a one-piece stream."""
    line = ("%s %s %s" % (id_, kind, body)).encode()
    return iter((line + (" *%s\n" % crc_hex(line)).encode(),))


def _error(id_, code, message):
    return _reply(id_, ERR, "%s %s" % (code, _clean(message)))


def _streamed(id_, kind, head, items, tail):
    """A reply produced a piece at a time, one item's JSON each: head, the items
    joined by ", ", tail. The checksum runs along."""
    crc = 0
    piece = ("%s %s %s" % (id_, kind, head)).encode()
    first = True
    for item in items:
        if not first:
            piece += b", "
        first = False
        piece += _dumps(item).encode()
        crc = binascii.crc32(piece, crc)
        yield piece
        piece = b""
    piece += tail.encode()
    crc = binascii.crc32(piece, crc)
    yield piece + (" *%08x\n" % (crc & 0xFFFFFFFF)).encode()


class Request:
    """A change waiting for the clinician's press at the pen."""

    def __init__(self, id_, what, detail, value, since_ms):
        self.id = id_
        self.what = what  # a key of CHANGES
        self.detail = detail  # what the pen shows: a profile name, "3 profiles", ...
        self.value = value
        self.since_ms = since_ms
        self.confirmed = False


class Protocol:
    """pen: the firmware.pen.Pen to report and to change. board: its board module
    (name, gas flow, the nominal sensor curve). The rest is what the shell can do,
    None where it cannot:
      info: dict of fixed facts for `info` (manifest, micropython, boot_count, ...);
      records(start, count) -> (first, end, [(index, position, 64 bytes or None,
          problem or None)]): the treatment record from index start;
      clock(epoch_s, now_ms): sets the wall time of the record;
      save(what, value, now_ms) -> bool: records a confirmed change ("profile", "calibration")
          and keeps it where the pen can; True once it is kept across a power-up;
      service(): reboots into service mode (called once its reply is written);
      clinic: the clinic configuration (firmware/startup.py, Clinic), whose install()
          checks, stores, records and offers a configuration; without one a new
          configuration is offered to the pen for this power-up only;
      calibration: the firmware.calibration.Calibration in use (the thermistor tables'),
          and the clinic's `calibration` (Clinic.calibration) says why a stored one
          was refused."""

    def __init__(self, pen, board, info=None, records=None, clock=None, save=None,
                 service=None, clinic=None, calibration=None):
        self.pen = pen
        self.board = board
        self.info = info or {}
        self.records = records
        self.clock = clock
        self.save = save
        self.service = service
        self.clinic = clinic
        self.nominal = thermistor.model_from_board(board)
        self.calibration = calibration or cal_mod.nominal(board)
        self.calibration_next = None  # confirmed, in use from the next power-up
        self.request = None
        self.service_due = False
        self.now_ms = 0
        self.uptime_ms = 0
        self._polled = False
        self._buf = bytearray(MAX_LINE)
        self._n = 0
        self._overflow = False
        self._bad = False
        self._out = []  # replies, each an iterator of byte pieces
        self._piece = b""
        self._pos = 0
        self.lines = 0  # request lines seen (blank lines excepted)

    # --- time and the clinician's press ----------------------------------------------
    def poll(self, now_ms):
        """Between ticks: the clock, a change's confirmation, expiry or cancellation."""
        if self._polled:
            self.uptime_ms += max(0, ticks_diff(now_ms, self.now_ms))
        self._polled = True
        self.now_ms = now_ms
        req = self.request
        if req is not None:
            allowed = self.pen.state in CHANGES[req.what]
            if not allowed:
                self._finish(_error(req.id, STATE, "the pen went to %s before the change was "
                                    "made; nothing changed" % self._state_name()))
            elif req.confirmed:
                self._finish(self._apply(req))
            elif ticks_diff(now_ms, req.since_ms) >= CONFIRM_MS:
                self._finish(_reply(req.id, EXPIRED, _dumps(self._asked(req))))
        out = self.pen.out
        if (self.service_due and not self._out and self._pos >= len(self._piece)
                and self.pen.state == states.IDLE and not out.valve and not out.master):
            # Confirmed in IDLE; should the trigger have started an application since,
            # the restart waits until the pen is IDLE again with both valves closed.
            self.service_due = False
            self.service()

    def confirm(self, now_ms):
        """The mode button's short press, in the tick. True when it confirmed a change
        waiting for it (the press then does nothing else). Allocates nothing."""
        req = self.request
        if (req is None or req.confirmed or ticks_diff(now_ms, req.since_ms) >= CONFIRM_MS
                or self.pen.state not in CHANGES[req.what]):
            return False
        req.confirmed = True
        return True

    def asking(self):
        """(what, detail) of the change the pen must show while it waits, or None."""
        req = self.request
        if req is None or req.confirmed:
            return None
        return req.what, req.detail

    def _finish(self, reply):
        self.request = None
        self._out.append(reply)

    def _asked(self, req):
        return {"request": req.what, "detail": req.detail}

    def _apply(self, req):
        """The confirmed change, through the pen's own methods."""
        pen = self.pen
        what = req.what
        result = self._asked(req)
        try:
            if what == "select":
                pen.offer(pen.choices, req.value)
                self._save("profile", pen.profile.name)  # recorded; kept as the mode button's is
            elif what == "config":
                doc, enabled, start = req.value
                if self.clinic is not None:
                    self.clinic.install(pen, doc, self.now_ms)
                else:
                    pen.offer(enabled, start)
                result["stored"] = self.clinic is not None
            elif what == "calibration":
                result["stored"] = self._save("calibration", req.value)  # first: it may fail
                self.calibration_next = req.value
                result["in_use_from"] = "next power-up"
            else:
                self.service_due = True
        except Exception as e:  # storing failed: said (an install that fails changes nothing)
            return _error(req.id, INTERNAL, "%s: %s" % (type(e).__name__, e))
        return _reply(req.id, CONFIRMED, _dumps(result))

    def _save(self, what, value):
        return bool(self.save(what, value, self.now_ms)) if self.save is not None else False

    # --- bytes in ---------------------------------------------------------------------
    def ready(self):
        """Whether a new line may be taken: its reply has room."""
        return len(self._out) < OUT_MAX - 1

    def feed(self, data):
        """Takes bytes, at most FEED_MAX and up to the end of the first complete line,
        which is answered; returns how many it took. 0: no room for a reply until the
        queued ones are sent."""
        if not self.ready():
            return 0
        taken = 0
        take = self.feed_byte
        for b in data:
            if taken >= FEED_MAX:
                break
            taken += 1
            if take(b):
                break
        return taken

    def feed_byte(self, b):
        """One byte (an int); True when it ended a line, which is then answered. The
        caller feeds only while ready()."""
        if b == _LF:
            self._line()
            return True
        if b == _CR:
            return False
        if self._n >= MAX_LINE:
            self._overflow = True
        else:
            if b < 0x20 or b > 0x7E:
                self._bad = True
            self._buf[self._n] = b
            self._n += 1
        return False

    def _line(self):
        n, overflow, bad = self._n, self._overflow, self._bad
        self._n = 0
        self._overflow = False
        self._bad = False
        if overflow:
            reply = _error(NO_ID, TOOLONG, "a line holds at most %d bytes; this one was "
                           "discarded" % MAX_LINE)
        elif bad:
            reply = _error(NO_ID, FRAMING, "a request is printable ASCII (bytes 0x20..0x7e)")
        elif n == 0:
            return  # a blank line asks nothing
        else:
            reply = self._answer(bytes(self._buf[:n]).decode())
        self.lines += 1
        self._out.append(reply)

    def _answer(self, text):
        """The reply to one request line; never raises."""
        id_ = NO_ID
        try:
            text = self._checked(text)
            parts = text.split(None, 1)
            if not parts or not parts[0].isdigit() or len(parts[0]) > _ID_DIGITS:
                raise _Refusal(FRAMING, "a request starts with its id, 1 to %d digits"
                               % _ID_DIGITS)
            id_ = parts[0]
            if len(parts) < 2:
                raise _Refusal(FRAMING, "no command after the id")
            words = parts[1].split(None, 1)
            handler = _COMMANDS.get(words[0])
            if handler is None:
                raise _Refusal(UNKNOWN, "no command %s; known: %s" % (words[0], ", ".join(
                    sorted(_COMMANDS))))
            return handler(self, id_, words[1] if len(words) > 1 else "")
        except _Refusal as e:
            return _error(id_, e.args[0], e.args[1])
        except Exception as e:  # a fault of the pen's own: said, and nothing changed
            return _error(id_, INTERNAL, "%s: %s" % (type(e).__name__, e))

    def _checked(self, text):
        """The line without its checksum field, once that is found to match."""
        cut = text.rfind(" ")
        if cut < 0 or text[cut + 1:cut + 2] != "*":
            return text
        field = text[cut + 2:]
        body = text[:cut]
        if len(field) != 8 or not _is_hex(field):
            raise _Refusal(CHECKSUM, "a checksum is * and 8 hex digits")
        if int(field, 16) != binascii.crc32(body.encode()) & 0xFFFFFFFF:
            raise _Refusal(CHECKSUM, "checksum mismatch: the line was damaged")
        return body

    # --- bytes out --------------------------------------------------------------------
    def chunk(self, n):
        """Up to n bytes of the reply being sent, or None when nothing waits. The
        caller writes what it can and says how much with sent()."""
        while self._pos >= len(self._piece):
            if not self._out:
                return None
            try:
                self._piece = next(self._out[0])
                self._pos = 0
            except StopIteration:
                self._out.pop(0)
            except Exception as e:  # a reply that fails half-way: the line is ended as an error
                self._out[0] = _error(NO_ID, INTERNAL, "reply cut short (%s); discard the "
                                      "line before this one" % type(e).__name__)
                self._piece = b"\n"
                self._pos = 0
        return memoryview(self._piece)[self._pos:self._pos + n]

    def sent(self, k):
        self._pos += k

    def idle(self):
        """Nothing to send, nothing half-read."""
        return not self._out and self._pos >= len(self._piece) and self._n == 0

    # --- what the pen reports ---------------------------------------------------------
    def _state_name(self):
        return states.STATE_NAMES[self.pen.state]

    def config_doc(self):
        """The clinic configuration in force, as `config set` takes it, and why none is
        (the stored one was refused: the pen then treats with none until one is)."""
        clinic = self.clinic
        problem = clinic.problem if clinic is not None else None
        if problem is not None:
            return {"config": None, "problem": problem}
        choices, start = (clinic.choices, clinic.start) if clinic is not None else (
            self.pen.choices, self.pen.choice)
        builtin = [d["name"] for d in profiles.PROFILES]
        return {"config": {"profiles": [p.name for p in choices], "start": choices[start].name,
                           "custom": [p.as_dict() for p in choices if p.name not in builtin]},
                "problem": None}

    def info_doc(self):
        doc = dict(self.info)
        doc["protocol"] = VERSION
        doc["firmware"] = FIRMWARE_VERSION
        doc["board"] = self.board.NAME
        doc["uptime_s"] = self.uptime_ms // 1000
        return doc

    def status_doc(self):
        pen = self.pen
        out = pen.out
        sup = pen.sup
        p = pen.profile
        rest = ticks_diff(sup.rest_end_ms, self.now_ms)
        left = getattr(out, "gas_left_mg", -1)
        asking = self.asking()
        return {"state": self._state_name(), "profile": p.name,
                "tip_c": [out.temp1_cc / 100, out.temp2_cc / 100],
                "raw": [sup.s1.last_raw, sup.s2.last_raw],
                "acting_c": out.temp_cc / 100, "target_c": p.target_cc / 100,
                "floor_c": p.floor_cc / 100,
                "alarm": alarms.name_of(out.alarm) or None, "faults": alarms.names(out.fault),
                "valve": out.valve, "second_valve": out.master,
                "applications": sup.applications, "cycles": p.cycles, "session": pen.session,
                "rest_left_s": rest / 1000 if rest > 0 else 0,
                "valve_open_s": sup.open_ms / 1000,
                "gas_used_mg": sup.open_ms * self.board.NOMINAL_FLOW_MG_PER_S // 1000,
                "gas_left_mg": left if left >= 0 else None,
                "asking": {"request": asking[0], "detail": asking[1]} if asking else None}

    # --- the commands -----------------------------------------------------------------
    def _no_args(self, name, rest):
        if rest:
            raise _Refusal(ARGS, "%s takes no arguments" % name)

    def _info(self, id_, rest):
        self._no_args("info", rest)
        return _reply(id_, OK, _dumps(self.info_doc()))

    def _status(self, id_, rest):
        self._no_args("status", rest)
        return _reply(id_, OK, _dumps(self.status_doc()))

    def _profiles(self, id_, rest):
        self._no_args("profiles", rest)
        pen = self.pen
        head = '{"active": %s, "profiles": [' % _dumps(pen.profile.name)
        return _streamed(id_, OK, head, (p.as_dict() for p in pen.choices), "]}")

    def _change(self, id_, what):
        """Refuses a change in the wrong state or while another waits."""
        if self.pen.state not in CHANGES[what]:
            raise _Refusal(STATE, "%s is refused while the pen is %s (allowed: %s)" % (
                what, self._state_name(), ", ".join(states.STATE_NAMES[s]
                                                     for s in CHANGES[what])))
        if self.request is not None:
            raise _Refusal(BUSY, "request %s (%s) is waiting for its confirmation at the pen"
                           % (self.request.id, self.request.what))

    def _ask(self, id_, what, detail, value):
        self.request = Request(id_, what, detail, value, self.now_ms)
        return _reply(id_, PENDING, _dumps({"request": what, "detail": detail,
                                            "confirm_s": CONFIRM_MS // 1000}))

    def _select(self, id_, rest):
        rest = rest.strip()
        if not rest:
            raise _Refusal(ARGS, "select takes a profile name")
        self._change(id_, "select")
        names = [p.name for p in self.pen.choices]
        if rest not in names:
            raise _Refusal(INVALID, "no profile named %s among the enabled: %s"
                           % (rest, ", ".join(names)))
        return self._ask(id_, "select", rest, names.index(rest))

    def _config(self, id_, rest):
        words = rest.split(None, 1)
        if words and words[0] == "get":
            self._no_args("config get", words[1] if len(words) > 1 else "")
            return _reply(id_, OK, _dumps(self.config_doc()))
        if not words or words[0] != "set":
            raise _Refusal(ARGS, "config get, or config set <json>")
        if len(words) < 2:
            raise _Refusal(ARGS, "config set takes the configuration as a JSON object")
        doc = _json_arg(words[1], "config set's argument")
        self._change(id_, "config")
        try:
            enabled, start = config_mod.load(doc)
        except config_mod.ConfigError as e:
            raise _Refusal(INVALID, str(e))
        except ValueError as e:  # a custom profile's loader, by another name
            raise _Refusal(INVALID, "config: %s" % e)
        detail = "%d profiles, start %s" % (len(enabled), enabled[start].name)
        return self._ask(id_, "config", detail, (doc, enabled, start))

    def _calibration(self, id_, rest):
        words = rest.split(None, 1)
        if words and words[0] == "get":
            self._no_args("calibration get", words[1] if len(words) > 1 else "")
            doc = self.calibration.as_dict()
            nxt = self.calibration_next
            doc["next_power_up"] = nxt.as_dict() if nxt is not None else None
            tips = getattr(self.clinic, "calibration", None)  # firmware.startup.TipCalibration
            doc["problem"] = tips.problem if tips is not None else None
            return _reply(id_, OK, _dumps(doc))
        if not words or words[0] != "set":
            raise _Refusal(ARGS, "calibration get, or calibration set <json>")
        if len(words) < 2:
            raise _Refusal(ARGS, "calibration set takes the coefficients as a JSON object")
        doc = _json_arg(words[1], "calibration set's argument")
        self._change(id_, "calibration")
        try:
            cal = cal_mod.load(doc, self.nominal)
        except cal_mod.CalibrationError as e:
            raise _Refusal(INVALID, str(e))
        return self._ask(id_, "calibration", "tip sensors", cal)

    def _service(self, id_, rest):
        self._no_args("service", rest)
        if self.service is None:
            raise _Refusal(UNSUPPORTED, "this pen cannot reboot into service mode from the "
                           "link; hold reset at power-up")
        self._change(id_, "service")
        return self._ask(id_, "service", "reboot to service mode", None)

    def _clock(self, id_, rest):
        words = rest.split()
        if not words or words[0] != "set" or len(words) != 2:
            raise _Refusal(ARGS, "clock set <epoch_s>")
        epoch = _whole(words[1], "epoch_s")
        if not CLOCK_MIN_S <= epoch <= CLOCK_MAX_S:
            raise _Refusal(RANGE, "epoch_s = %d is outside %d..%d (2024 to 2106)"
                           % (epoch, CLOCK_MIN_S, CLOCK_MAX_S))
        if self.clock is None:
            raise _Refusal(UNSUPPORTED, "this pen keeps no wall time")
        self.clock(epoch, self.now_ms)
        return _reply(id_, OK, _dumps({"wall_s": epoch}))

    def _log(self, id_, rest):
        words = rest.split()
        if len(words) != 2:
            raise _Refusal(ARGS, "log <start> <count>")
        start = _whole(words[0], "start")
        count = _whole(words[1], "count")
        if not 0 <= start <= LOG_INDEX_MAX:
            raise _Refusal(RANGE, "start = %d is outside 0..%d" % (start, LOG_INDEX_MAX))
        if not 1 <= count <= LOG_PAGE_MAX:
            raise _Refusal(RANGE, "count = %d is outside 1..%d (LOG_PAGE_MAX)"
                           % (count, LOG_PAGE_MAX))
        if self.records is None:
            raise _Refusal(UNSUPPORTED, "this pen keeps no treatment record")
        try:
            first, end, entries = self.records(start, count)
        except OSError as e:
            raise _Refusal(UNSUPPORTED, "the treatment record cannot be read (%s)" % e)
        nxt = entries[-1][0] + 1 if entries else max(start, first)
        head = '{"first": %d, "end": %d, "next": %d, "records": [' % (first, end, min(nxt, end))
        return _streamed(id_, OK, head, _log_items(entries), "]}")


def _log_items(entries):
    for index, position, data, problem in entries:
        item = None
        if data is not None:
            try:
                item = record.decode(data)
            except record.RecordError as e:
                problem = str(e)
        if item is None:
            item = {"damaged": problem or "unreadable"}
        item["index"] = index
        item["position"] = position
        yield item


def _is_hex(text):
    for ch in text:
        if ch not in "0123456789abcdefABCDEF":
            return False
    return True


_COMMANDS = {"info": Protocol._info, "status": Protocol._status, "profiles": Protocol._profiles,
             "select": Protocol._select, "config": Protocol._config,
             "calibration": Protocol._calibration, "service": Protocol._service,
             "clock": Protocol._clock, "log": Protocol._log}
