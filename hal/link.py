"""The host link's shell: moves bytes between the pen's USB serial and the
protocol (firmware/protocol.py), a bounded number per loop iteration, between
ticks and never past the next tick's deadline. Also what the protocol needs of
the running pen: its treatment record in pages, its wall clock and the change
records (PenRecords, changes, device_info).

The serial is handed in: an object with read_byte() -> 0..255, or -1 when no
byte waits (never waiting), write(buf) -> bytes taken, close(), and write_may_wait (True
when a write can wait for the host). UsbStdio is the pen's own (MicroPython's
stdin and stdout on USB-CDC); the virtual pen hands in its pty's. What the
ports do with each call: docs/PORTS.md, "The USB serial".

While a write may wait, the link writes only with both valves closed and the pen
not treating: a host that stops reading then stalls an idle loop, never one that
holds gas.
"""
import binascii
import hashlib

from firmware import record, states
from firmware.compat import const, ticks_diff
from hal import integrity, storage as storage_mod

IN_PER_SERVE = const(64)  # bytes read per loop iteration at most
OUT_PER_SERVE = const(64)  # bytes written per loop iteration at most
# Stop this long before the next tick's deadline: a byte costs tens of microseconds,
# the clock has millisecond steps.
MARGIN_MS = const(2)
# A line is answered only with this much time left: the longest answers (a `log`
# page read from flash, a configuration through its loader) take a few ms.
ANSWER_MS = const(5)
_LF = const(10)

# Whether the port's write can wait for the host (docs/PORTS.md, "The USB serial"):
# rp2 reports POLLOUT only while its TX FIFO has room, so one byte after a POLLOUT
# never waits; esp32 reports POLLOUT always, so any write to a full FIFO waits.
WRITE_MAY_WAIT = {"rp2": False, "esp32": True}
_KBD_CTRL_C = const(3)


class Link:
    """port: the serial (see the module's doc); protocol: a firmware.protocol.Protocol;
    now_ms: the HAL's clock."""

    def __init__(self, port, protocol, now_ms):
        self.port = port
        self.protocol = protocol
        self._now = now_ms
        self._held = -1  # a newline read with too little time left to answer it
        self.errors = 0

    def confirm(self, now_ms):
        """The mode button's short press, from the tick (App.step): True when it
        confirmed a change the host asked for. Allocates nothing."""
        return self.protocol.confirm(now_ms)

    def serve(self, deadline_ms):
        """One loop iteration's share of the link, between ticks: returns before the
        next tick's deadline less MARGIN_MS, having read and written at most
        IN_PER_SERVE and OUT_PER_SERVE bytes. Never raises: the loop it runs in
        drives the valves."""
        try:
            proto = self.protocol
            now = self._now
            proto.poll(now())
            self._read(deadline_ms)
            if self._may_write():
                self._write(deadline_ms)
            proto.poll(now())  # a confirmed service reboot waits for its reply to be written
        except Exception:  # a failing port: counted; the next iteration tries again
            self.errors += 1

    def _left(self, deadline_ms):
        return ticks_diff(deadline_ms, self._now())

    def _read(self, deadline_ms):
        proto = self.protocol
        port = self.port
        budget = IN_PER_SERVE
        while budget and proto.ready() and self._left(deadline_ms) > MARGIN_MS:
            b = self._held
            if b < 0:
                b = port.read_byte()
                if b < 0:
                    return
                budget -= 1
            if b == _LF and self._left(deadline_ms) < ANSWER_MS:
                self._held = b
                return
            self._held = -1
            proto.feed_byte(b)

    def _may_write(self):
        if not self.port.write_may_wait:
            return True
        out = self.protocol.pen.out
        return out.state != states.TREATING and not out.valve and not out.master

    def _write(self, deadline_ms):
        proto = self.protocol
        budget = OUT_PER_SERVE
        while budget > 0 and self._left(deadline_ms) > MARGIN_MS:
            chunk = proto.chunk(budget)
            if chunk is None:
                return
            k = self.port.write(chunk)
            proto.sent(k)
            budget -= k
            if k < len(chunk):
                return  # the port is full: the rest goes in a later iteration

    def close(self):
        self.port.close()


class UsbStdio:
    """The pen's USB-CDC serial, as MicroPython's stdin and stdout: polled, never
    waited on. sys.stdin.buffer.read(n) waits until n bytes came, so a byte is read
    only once POLLIN says one is there. Ctrl-C (0x03) is data on the link: the
    interrupt character is off while the link is open (it would empty the input
    and raise KeyboardInterrupt in the loop). select_, sys_ and micropython_ stand
    in for those modules in tests."""

    def __init__(self, port_name, select_=None, sys_=None, micropython_=None):
        if select_ is None:
            import select
        else:
            select = select_
        if sys_ is None:
            import sys
        else:
            sys = sys_
        if micropython_ is None:
            import micropython
        else:
            micropython = micropython_
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._rd = select.poll()
        self._rd.register(self._in, select.POLLIN)
        self._wr = select.poll()
        self._wr.register(self._out, select.POLLOUT)
        self._byte = bytearray(1)
        self.write_may_wait = WRITE_MAY_WAIT.get(port_name, True)
        self._kbd_intr = micropython.kbd_intr
        self._kbd_intr(-1)

    def _ready(self, poller):
        for _ in poller.ipoll(0):
            return True
        return False

    def read_byte(self):
        if not self._ready(self._rd):
            return -1
        self._in.readinto(self._byte)
        return self._byte[0]

    def write(self, buf):
        if self.write_may_wait:  # the link writes only while a wait holds no gas
            n = self._out.write(buf)
            return len(buf) if n is None else n
        n = 0
        while n < len(buf) and self._ready(self._wr):  # room for one byte at least
            self._out.write(buf[n:n + 1])
            n += 1
        return n

    def close(self):
        self._kbd_intr(_KBD_CTRL_C)


class PenRecords:
    """The treatment record in pages, for `log`: record i is slot i % RECORDS_PER_FILE
    of ring file i // RECORDS_PER_FILE (hal/storage.py), so an index names the same
    record while the ring turns. A page reads at most three files (up to 4 KiB each):
    two for its records, and the newest for where the record ends."""

    def __init__(self, storage):
        self.storage = storage

    def _files(self):
        st = self.storage
        try:
            names = st.fs.listdir(st.root + storage_mod.REC_DIR)
        except OSError:
            return []
        return sorted(int(n[:-4]) for n in names if n.endswith(".bin") and n[:-4].isdigit())

    def _read(self, n):
        st = self.storage
        with st.fs.open(st.root + "%s/%08d.bin" % (storage_mod.REC_DIR, n), "rb") as f:
            return f.read()

    def __call__(self, start, count):
        """(first index kept, index after the newest, [(index, position, 64 bytes or
        None, problem or None)] from start on, count at most)."""
        per = storage_mod.RECORDS_PER_FILE
        size = record.SIZE
        files = self._files()
        if not files:
            return 0, 0, []
        entries = []  # type: list
        last = None
        for n in files:
            if (n + 1) * per <= start or len(entries) >= count:
                continue
            try:
                data = self._read(n)
            except OSError as e:
                entries.append((max(start, n * per), "%08d.bin" % n, None,
                                "unreadable file (%s)" % e))
                continue
            if n == files[-1]:
                last = data
            for off in range(0, len(data), size):
                index = n * per + off // size
                if index >= start and len(entries) < count:
                    entries.append((index, "%08d.bin@%d" % (n, off), data[off:off + size], None))
        try:
            if last is None:
                last = self._read(files[-1])
            end = files[-1] * per + (len(last) + size - 1) // size
        except OSError:
            end = (files[-1] + 1) * per
        return files[0] * per, end, entries


def changes(journal, keep_calibration=None):
    """The protocol's save(what, value, now_ms): records each confirmed change in the
    treatment record, and keeps a calibration where the pen can
    (keep_calibration(calibration), firmware.startup.TipCalibration.keep on the pen;
    None: not kept across a power-up). True once kept. A calibration that cannot be
    kept raises (OSError) before it is recorded: the record says only what changed."""

    def save(what, value, now_ms):
        if what == "profile":
            journal.change(now_ms, record.CHANGE_PROFILE, value)
            return False  # kept as the mode button's choice is, in the next state snapshot
        kept = keep_calibration is not None
        if kept:
            keep_calibration(value)
        journal.change(now_ms, record.CHANGE_CALIBRATION, value.source)
        return kept

    return save


def wall_clock(journal):
    """The protocol's clock(epoch_s, now_ms): the record's wall time from now on,
    and a change record that says so."""

    def clock(epoch_s, now_ms):
        journal.wall_offset_s = epoch_s - now_ms // 1000
        journal.change(now_ms, record.CHANGE_CLOCK, "%d" % epoch_s)

    return clock


def device_info(journal, cause, root=None, open_=None, sys_=None):
    """The fixed facts `info` reports: the manifest's SHA-256 (which files run), the
    MicroPython version, the boot count and why the pen started."""
    if root is None:
        root = integrity.ROOT
    if open_ is None:
        open_ = open
    if sys_ is None:
        import sys
    else:
        sys = sys_
    manifest = None
    try:
        with open_(root + integrity.MANIFEST, "rb") as f:
            manifest = binascii.hexlify(hashlib.sha256(f.read()).digest()).decode()
    except OSError:
        pass
    return {"manifest": manifest,
            "micropython": ".".join(str(v) for v in sys.implementation.version[:3]),
            "boot_count": journal.boot_count if journal is not None else None,
            "reset_cause": record.CAUSE_NAMES[cause]}
