"""The host link's shell (hal/link.py) on the fakes of both ports' USB serial
(tests/host/machine_fake.py, UsbSerial), which refuse every read or write that
would wait; its place in the loop (firmware/app.py); and what it reads and
records of the running pen: the record in pages, the clock, the change records."""
import json

from boards.esp32s3_devkit import board as esp32s3
from boards.rp2040_pico import board as pico
from boards.sim import board
from firmware import pen as pen_mod, profiles, protocol, record
from firmware.app import App
from firmware.journal import Journal
from hal import link
from hal.fake import FakeHal
from hal.storage import Storage
from tests.core.link_rig import parse, rig_and_host
from tests.core.test_storage import DictFs
from tests.host import machine_esp32, machine_rp2

PORTS = {"rp2": (machine_rp2, pico), "esp32": (machine_esp32, esp32s3)}


def replies(data):
    return [parse(line + b"\n") for line in data.split(b"\n")[:-1]]


class Bench:
    """A pen in a state, its protocol and link, on the fake chip of a port."""

    def __init__(self, port="rp2", state="IDLE"):
        module, b = PORTS[port]
        self.chip = module.power_on(b)
        self.usb = self.chip.usb
        self.rig, self.proto, _, self.hooks = rig_and_host(state)
        self.port = link.UsbStdio(port, self.chip.select, self.chip.sys, self.chip.micropython)
        self.link = link.Link(self.port, self.proto, self.chip.clock.ticks_ms)

    def serve(self, n=1, left_ms=8):
        for _ in range(n):
            self.link.serve(self.chip.clock.ticks_ms() + left_ms)
            self.chip.clock.advance(10)

    def talk(self, n):
        """n iterations with a host that reads what comes; the replies."""
        data = b""
        for _ in range(n):
            self.serve(1)
            data += self.usb.host_read()
        return replies(data)


def test_the_link_turns_ctrl_c_into_data_and_gives_it_back_on_close():
    for port in PORTS:
        bench = Bench(port)
        assert bench.usb.interrupt_char == -1
        bench.usb.host_send(b"1 st\x03atus\n")  # would empty the input and raise KeyboardInterrupt
        bench.serve(3)
        got = replies(bench.usb.host_read())
        assert got[0][:2] == ("-", "err") and got[0][2].startswith("FRAMING")
        bench.link.close()
        assert bench.usb.interrupt_char == 3


def test_reads_are_bounded_per_iteration_and_never_wait():
    bench = Bench()
    lines = b"".join(b"%d info\n" % i for i in range(1, 30))
    bench.usb.host_send(lines)
    before = len(bench.usb.ring) + len(bench.usb.waiting)
    bench.serve(1)
    after = len(bench.usb.ring) + len(bench.usb.waiting)
    assert 0 < before - after <= link.IN_PER_SERVE
    assert [g[0] for g in bench.talk(200)] == [str(i) for i in range(1, 30)]
    assert bench.link.errors == 0  # WouldHang is an Exception: a wait would have been counted


def test_writes_are_bounded_per_iteration():
    for port in PORTS:
        bench = Bench(port)
        bench.usb.host_send(b"1 log 0 16\n")
        bench.serve(3)
        writes = bench.chip.calls("usb.write")
        per_serve = []
        for _ in range(100):
            n = len(bench.chip.calls("usb.write"))
            bench.serve(1)
            per_serve.append(sum(w[1] for w in bench.chip.calls("usb.write")[n:]))
            bench.usb.host_read()
        assert writes and max(per_serve) <= link.OUT_PER_SERVE
        assert bench.link.errors == 0


def test_on_rp2_a_host_that_stops_reading_never_stalls_the_loop():
    bench = Bench("rp2")
    for i in range(10):
        bench.usb.host_send(b"%d log 0 16\n" % (i + 1))
    bench.serve(300)  # the host reads nothing: the TX FIFO fills and the link waits its turn
    assert len(bench.usb.tx) == bench.usb.CDC_TX_FIFO and bench.link.errors == 0
    data = b""
    for _ in range(3000):
        data += bench.usb.host_read()
        bench.serve(1)
    got = replies(data)
    assert [g[0] for g in got] == [str(i + 1) for i in range(10)]
    assert all(len(g[2]["records"]) == 16 for g in got)


def test_on_esp32_the_link_writes_nothing_while_gas_may_flow():
    for state in ("TREATING", "IDLE"):
        bench = Bench("esp32", state)
        bench.usb.host_send(b"1 status\n")
        bench.serve(20)
        wrote = bench.chip.calls("usb.write")
        assert bool(wrote) == (state == "IDLE"), state
    bench = Bench("rp2", "TREATING")  # on rp2 a write never waits: status goes out meanwhile
    bench.usb.host_send(b"1 status\n")
    assert bench.talk(20)[0][2]["state"] == "TREATING"


def test_nothing_is_read_or_answered_near_the_deadline():
    bench = Bench()
    bench.usb.host_send(b"1 info\n")
    bench.serve(1, left_ms=link.MARGIN_MS)
    assert len(bench.usb.ring) == len(b"1 info\n")
    bench.serve(1, left_ms=link.ANSWER_MS - 1)  # read up to the newline, held there
    assert bench.usb.ring == [] and bench.proto.lines == 0 and bench.link._held == 10
    bench.serve(2)
    assert replies(bench.usb.host_read())[0][:2] == ("1", "ok")


def test_a_failing_port_never_breaks_the_loop():
    class Broken:
        write_may_wait = False

        def read_byte(self):
            raise OSError(5)

    rig, proto, _, _ = rig_and_host()
    lk = link.Link(Broken(), proto, lambda: rig.t)
    lk.serve(rig.t + 8)
    assert lk.errors == 1


# --- in the loop ----------------------------------------------------------------------
class Tip:
    tip_c = 25.0

    def empty_cartridge(self):
        pass


class Port:
    """A serial as the virtual pen hands one in: bytes in a list each way."""
    write_may_wait = False

    def __init__(self):
        self.rx = []
        self.tx = b""

    def read_byte(self):
        return self.rx.pop(0) if self.rx else -1

    def write(self, buf):
        self.tx += bytes(buf)
        return len(buf)

    def close(self):
        pass


def shell():
    hal = FakeHal(board, Tip())
    pen = pen_mod.build(board, profiles.builtin("moderate"), hal.now_ms())
    pen.offer(tuple(profiles.all_builtin()), 1)
    proto = protocol.Protocol(pen, board)
    port = Port()
    app = App(hal, pen, link=link.Link(port, proto, hal.now_ms))
    for _ in range(20):
        app.step()
        hal.advance(10)
    return hal, app, proto, port


def short_press(hal, app):
    hal.mode_down = True
    for _ in range(10):
        app.step()
        hal.advance(10)
    hal.mode_down = False
    for _ in range(5):
        app.step()
        hal.advance(10)


def test_a_short_press_confirms_what_the_host_asked_and_does_nothing_else():
    hal, app, proto, port = shell()
    port.rx.extend(b"7 select long\n")
    app.link.serve(hal.now_ms() + 8)
    assert proto.asking() == ("select", "long")
    short_press(hal, app)
    for _ in range(5):
        app.link.serve(hal.now_ms() + 8)
    got = replies(port.tx)
    assert [g[1] for g in got] == ["pending", "confirmed"]
    assert app.pen.profile.name == "long"  # not the next profile, which the press gives alone
    short_press(hal, app)
    assert app.pen.profile.name == "very_long"


def test_the_loop_serves_the_link_between_ticks_until_the_deadline():
    hal, app, proto, port = shell()
    deadlines = []
    serve = app.link.serve

    def noted(deadline):
        deadlines.append((deadline, hal.now_ms()))
        serve(deadline)

    app.link.serve = noted
    ticks = []

    def sleep(ms):
        ticks.append(ms)
        if len(ticks) > 5:
            raise KeyboardInterrupt
        hal.advance(ms)

    hal.sleep_ms = sleep
    port.rx.extend(b"1 info\n")
    try:
        app.run()
    except KeyboardInterrupt:
        pass
    assert len(deadlines) == 6 and all(0 < d - now <= 10 for d, now in deadlines)
    assert replies(port.tx)[0][:2] == ("1", "ok")


# --- what the link reads and records of the pen ---------------------------------------
def storage_with(n):
    st = Storage(DictFs())
    for i in range(n):
        st.append(record.encode(record.SESSION, 1, i, 0, (i, "short")))
    return st


def test_the_record_is_paged_by_index_across_files_and_the_ring_turning():
    pages = link.PenRecords(storage_with(150))
    first, end, got = pages(60, 8)
    assert (first, end) == (0, 150)
    assert [e[0] for e in got] == list(range(60, 68))
    assert got[4][1] == "00000001.bin@0" and record.decode(got[4][2])["session"] == 64
    assert pages(148, 16)[2][-1][0] == 149 and pages(150, 16)[2] == []
    big = link.PenRecords(storage_with(64 * 17 + 3))  # the oldest file has gone
    first, end, got = big(0, 2)
    assert first == 64 * 2 and end == 64 * 17 + 3 and got[0][0] == 128
    assert link.PenRecords(Storage(DictFs()))(0, 16) == (0, 0, [])


def test_a_log_over_the_link_reads_the_pens_record():
    rig, proto, host, _ = rig_and_host()
    proto.records = link.PenRecords(storage_with(20))
    page = host.one("1 log 18 16")[2]
    assert [r["session"] for r in page["records"]] == [18, 19] and page["end"] == 20


def test_changes_and_the_clock_go_into_the_record():
    journal = Journal(4, 1, 15)
    rig, proto, host, _ = rig_and_host()
    kept = []
    proto.save = link.changes(journal, kept.append)
    proto.clock = link.wall_clock(journal)
    proto.poll(5000)
    host.one("1 clock set 1800000000")
    host.one("2 calibration set " + json.dumps(proto.calibration.as_dict()))
    proto.confirm(5000)
    proto.poll(5000)
    host.drain()
    host.one("3 select short")
    proto.confirm(5000)
    proto.poll(5000)
    host.drain()
    got = [record.decode(d) for _, d in journal.queue]
    assert [(g["what"], g["detail"]) for g in got] == [(record.CHANGE_CLOCK, "1800000000"),
                                                       (record.CHANGE_CALIBRATION, "pen"),
                                                       (record.CHANGE_PROFILE, "short")]
    assert got[0]["wall_s"] == 1800000000 and len(kept) == 1


def test_device_info_names_the_manifest_micropython_boot_and_cause(tmp_path):
    (tmp_path / "cryopen_manifest.json").write_text('{"files": {}}')
    info = link.device_info(Journal(9, 1, 15), record.CAUSE_WATCHDOG, str(tmp_path) + "/")
    assert len(info["manifest"]) == 64 and info["boot_count"] == 9
    assert info["reset_cause"] == "watchdog" and info["micropython"].count(".") == 2
    assert link.device_info(None, 0, str(tmp_path) + "/none/")["manifest"] is None
