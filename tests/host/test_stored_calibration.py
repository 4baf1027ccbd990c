"""The tip sensors' calibration in the pen's flash, on the simulated pen, on the
real littlefs and on both ports' `machine` fakes: a stored calibration builds both
sensors' tables from the next power-up and corrects the readings of beads off the
nominal curve; a stored one that fails its CRC or its check keeps the valves closed
with calibration_invalid, said at boot, until the restore gesture or a calibration
confirmed over the host link; flips in a copy are refused naming it; power cuts
during a write leave the old or the new one; the reader, fuzzed, reads a copy or
refuses it with what is wrong. And `service` over the host link: the pen restarts
into service mode once, on both ports and on the virtual pen. The counts are
printed at the end of every run (TERMINAL_SUMMARY)."""
import binascii
import json
import os
import random
import struct
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import boards.sim.board as sim_board
from boards.esp32s3_devkit import board as esp32s3
from boards.rp2040_pico import board as pico
from firmware import alarms, calibration, profiles, protocol, record, startup, thermistor
from firmware.app import App
from hal import boot as boot_mod, link
from hal.fake import FakeHal
from hal.storage import CALIBRATION_FILES, OsFs, Storage
from host_tools.pens import flash_image
from host_tools.sim import scenario, simulator
from host_tools.sim.plant import Plant
from tests.core.link_rig import parse
from tests.host import machine_esp32, machine_fake, machine_rp2
from tests.host.stored_copy_fuzz import damage, damaged, json_values as json_values_of, \
    must_be_refused
from tests.host.test_link import Port

SEED = int(os.environ.get("CRYOPEN_FLIP_SEED", "20240611"))
COLUMNS = simulator.TRACE_COLUMNS
MODEL = thermistor.model_from_board(sim_board)
NOMINAL = calibration.nominal(sim_board)
CAL_ALARM = alarms.worst(alarms.F_CALIBRATION)
# This pen's beads, off the nominal curve by part tolerances (host_tools/sim/plant.py).
BEADS = {"bead1_r_pct": 4.0, "bead1_beta_pct": 2.0, "bead2_r_pct": -3.0, "bead2_beta_pct": -1.5}
FUZZ = settings(max_examples=int(os.environ.get("CRYOPEN_FUZZ_EXAMPLES", "300")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
COUNTS = Counter()  # the fuzzed reader
DAMAGE = Counter()
CUTS = Counter()
ERRORS = {}
TERMINAL_SUMMARY = []


@pytest.fixture(scope="module", autouse=True)
def _summary():
    yield
    if "nominal" in ERRORS:
        TERMINAL_SUMMARY.append(
            "stored calibration on the simulated pen: worst steady reading error %.2f C on the "
            "board's curve, %.2f C from the next power-up with the bench fit stored"
            % (ERRORS["nominal"], ERRORS["calibrated"]))
    if COUNTS["inputs"]:
        TERMINAL_SUMMARY.append(
            "reader fuzz, stored calibration: %d inputs, %d read, %d refused with what is "
            "wrong, %d tracebacks" % (COUNTS["inputs"], COUNTS["read"], COUNTS["refused"],
                                      COUNTS["unexpected"]))
    if DAMAGE:
        TERMINAL_SUMMARY.append(
            "stored calibration damage: %d flips in a copy, %d refused naming it"
            % (DAMAGE["copy"], DAMAGE["copy refused"]))
    if CUTS:
        TERMINAL_SUMMARY.append(
            "power cut: calibration %4d cut points (%d clean, %d half-written): %d refused, "
            "%d neither the old nor the new calibration" % (
                CUTS["clean"] + CUTS["half"], CUTS["clean"], CUTS["half"], CUTS["refused"],
                CUTS["mixed"]))


def bench_fit(beads, refs=(-78.5, 0.0, 22.0)):
    """What a bench calibration fits for these beads: each sensor's resistance at three
    reference temperatures, as the divider shows it through the board's curve."""
    plant = Plant(**beads)
    sensors = []
    for i in (1, 2):
        points = []
        for t in refs:
            plant.tip_c = t
            points.append((t, MODEL.ohms(plant.bead_c(i) + thermistor.KELVIN)))
        m = thermistor.fit_steinhart_hart(points)
        sensors.append({"a": m.a, "b": m.b, "c": m.c})
    return calibration.load({"sensors": sensors}, MODEL)


def image_with(cal=None, seq=1):
    """A fresh littlefs image holding cal's two copies (none without cal)."""
    lfs, ctx = flash_image.new_image()
    if cal is not None:
        Storage(flash_image.LfsFs(lfs)).save_calibration(calibration.encode(cal, seq))
    return lfs, ctx


def copy_spans(ctx, data):
    image = bytes(ctx.buffer)
    spans = []
    at = image.find(data)
    while at >= 0:
        spans.append(at)
        at = image.find(data, at + 1)
    return image, spans


def flipped(image, offset, xor):
    data = bytearray(image)
    data[offset] ^= xor
    return bytes(data)


def run(doc, flash):
    result = simulator.run(scenario.from_dict(dict(doc, plant=BEADS)), flash=flash)
    return result.summary, [dict(zip(COLUMNS, r)) for r in result.trace]


FREEZE = {"name": "freeze", "profile": "moderate", "duration_s": 16,
          "events": [{"t": 1.0, "trigger": True}, {"t": 13.0, "trigger": False}]}


def steady_error(rows):
    """The largest |reading - tip| of either sensor where the tip moved less than
    0.02 C in a tick (the trace's tip is the model's after the tick's step)."""
    worst = 0.0
    for before, row in zip(rows, rows[1:]):
        if abs(row["tip_c"] - before["tip_c"]) < 0.02:
            for key in ("reading_c", "reading2_c"):
                worst = max(worst, abs(row[key] - row["tip_c"]))
    return worst


# --- a stored calibration, from the next power-up -------------------------------------------
def test_a_stored_calibration_corrects_both_sensors_from_the_next_power_up():
    cal = bench_fit(BEADS)
    lfs, ctx = image_with(cal, 3)
    started = startup.start(sim_board, profiles.builtin("moderate"),
                            Storage(flash_image.LfsFs(lfs)), 0, record.CAUSE_POWER)
    tips = started.clinic.calibration
    assert tips.problem is None and tips.stored and tips.in_force.source == "pen"
    for i, therm in enumerate((started.pen.thermistor, started.pen.thermistor2)):
        nominal = thermistor.from_board(sim_board, i == 1)
        assert list(therm.table) != list(nominal.table)
    summary, rows = run(FREEZE, image_with(cal, 3))
    _, plain = run(FREEZE, image_with())
    assert [a["profile"] for a in summary["applications"]] == ["moderate"]
    assert summary["faults"] == [] and summary["alarms"] == []
    ERRORS["nominal"], ERRORS["calibrated"] = steady_error(plain), steady_error(rows)
    assert ERRORS["nominal"] > 0.8  # the beads are off: there is something to correct
    # What is left is the converter's step (12 bits: up to 0.2 C at the warm end).
    assert ERRORS["calibrated"] < 0.25
    # The regulator holds what the pen reads at target: the tip itself, once calibrated.
    held = [r["tip_c"] for r in rows if 8.0 <= r["t_s"] <= 10.0]
    held_plain = [r["tip_c"] for r in plain if 8.0 <= r["t_s"] <= 10.0]
    assert abs(max(held) + 50) < abs(max(held_plain) + 50)


# --- a refused calibration --------------------------------------------------------------------
PRESSES = [{"t": 1.0, "trigger": True}, {"t": 3.0, "trigger": False},
           {"t": 3.5, "reset": True}, {"t": 5.0, "trigger": True}, {"t": 6.0, "trigger": False}]
RESTORE = [{"t": 1.0, "trigger": True}, {"t": 2.0, "trigger": False},
           {"t": 3.0, "mode": True}, {"t": 8.5, "reset": True}, {"t": 9.0, "reset": True},
           {"t": 9.5, "reset": True}, {"t": 10.0, "mode": False},
           {"t": 12.0, "trigger": True}, {"t": 14.0, "trigger": False}]


@pytest.fixture(scope="module")
def damaged_image():
    """A littlefs image whose copy 1 of a stored calibration has one byte flipped."""
    good = calibration.encode(bench_fit(BEADS), 2)
    lfs, ctx = image_with(bench_fit(BEADS), 2)
    image, spans = copy_spans(ctx, good)
    # Each copy in a data block of its own, where only its CRC guards it.
    assert len(spans) == 2 and all(s % flash_image.BLOCK_SIZE == 0 for s in spans), spans
    return image, spans, good


def test_a_damaged_stored_calibration_keeps_the_valves_closed_with_its_alarm(damaged_image):
    image, spans, _ = damaged_image
    summary, rows = run(dict(FREEZE, events=PRESSES, duration_s=8),
                        flash_image.mount_bytes(flipped(image, spans[1] + 200, 0x40)))
    assert summary["applications"] == [] and summary["alarms"] == ["calibration_invalid"]
    assert not any(r["valve_open"] or r["master_open"] or r["valve_cmd"] or r["master_cmd"]
                   for r in rows)
    assert {r["alarm"] for r in rows if r["t_s"] > 0.5} == {CAL_ALARM}
    assert summary["faults"] == []  # a condition of the stored calibration, not a fault


def test_the_restore_gesture_on_the_simulated_pen_restores_and_records_the_boards_curve(
        damaged_image):
    image, spans, _ = damaged_image
    lfs, ctx = flash_image.mount_bytes(flipped(image, spans[0] + 17, 0x01))
    summary, rows = run(dict(FREEZE, events=RESTORE, duration_s=16), (lfs, ctx))
    assert [(a["start_s"], a["profile"]) for a in summary["applications"]] == [(12.0, "moderate")]
    assert {r["alarm"] for r in rows if 0.5 < r["t_s"] < 9.5} == {CAL_ALARM}
    assert not any(r["valve_open"] for r in rows if r["t_s"] < 12.0)
    st_ = Storage(flash_image.LfsFs(lfs))
    got = calibration.choose(st_.calibration_copies(), MODEL)
    assert got.whole and got.calibration.source == "board"
    changes = [f["detail"] for _, f, _ in st_.records()
               if f is not None and f["kind"] == "change" and f["what"] == record.CHANGE_CALIBRATION]
    assert changes == ["board"]


def boot_tips(image):
    """The calibration a pen booted from the image (as on the device) has: TipCalibration."""
    lfs, _ = flash_image.mount_bytes(image)
    return startup.start(sim_board, profiles.builtin("moderate"),
                         Storage(flash_image.LfsFs(lfs)), 0,
                         record.CAUSE_POWER).clinic.calibration


def test_single_byte_flips_in_a_copy_are_refused_naming_it(damaged_image):
    image, spans, good = damaged_image
    rng = random.Random(SEED)
    for k in range(20):
        which = rng.randrange(2)
        offset = spans[which] + rng.randrange(len(good))
        tips = boot_tips(flipped(image, offset, rng.randrange(1, 256)))
        DAMAGE["copy"] += 1
        assert tips.problem is not None and tips.problem.endswith("bad CRC"), (k, offset)
        assert [n for n in CALIBRATION_FILES if n in tips.problem] == [CALIBRATION_FILES[which]]
        DAMAGE["copy refused"] += 1


def test_a_power_cut_during_a_calibration_write_leaves_the_old_or_the_new_one():
    from tests.host.test_power_cut import CutFlash, LfsFs, blank, mount

    cals = [bench_fit(BEADS), bench_fit({"bead1_r_pct": -2.0}), NOMINAL]
    lfs, ctx = blank()
    images = []
    for i, cal in enumerate(cals):
        images.append((i, bytes(ctx.buffer)))
        Storage(LfsFs(lfs)).save_calibration(calibration.encode(cal, i + 1))
    for i, image in images:
        old = cals[i - 1].sensors if i else None
        new = cals[i].sensors
        for half in (False, True):
            n = 0
            while True:
                n += 1
                cut = CutFlash(image, n, half)
                try:
                    Storage(LfsFs(mount(cut))).save_calibration(calibration.encode(cals[i], i + 1))
                except OSError:
                    assert cut.fired
                if not cut.fired:
                    break
                CUTS["half" if half else "clean"] += 1
                st_ = Storage(LfsFs(mount(CutFlash(cut.buffer))))
                try:
                    got = calibration.choose(st_.calibration_copies(), MODEL)
                except calibration.CalibrationError as e:
                    CUTS["refused"] += 1
                    raise AssertionError("cut %d (%s) of write %d: %s" % (n, half, i, e))
                if (got.calibration.sensors if got else None) not in (old, new):
                    CUTS["mixed"] += 1
                    raise AssertionError("cut %d of write %d" % (n, i))
                tips = startup.TipCalibration(st_, sim_board)
                tips.load()  # and the boot finishes the write it finds cut short
                assert tips.problem is None
                if got is not None:
                    assert calibration.choose(st_.calibration_copies(), MODEL).whole
    assert CUTS["clean"] > 4


def test_the_calibration_copy_in_record_md_is_calibration_py():
    from tests.host.test_record_doc import DOC, _layout, _meaning, _sections, _table

    rows = _table(_sections()["Calibration copy"])
    header = _layout(calibration._HEAD, ("magic", "version", "length", "seq"), 0)
    assert rows == header + [(calibration.HEAD_SIZE, "char[length]", "body"),
                             (calibration.SIZE - 4, "u32", "crc")]
    assert "(%d)" % calibration.VERSION in _meaning("Calibration copy", "version")
    assert calibration.MAGIC.decode() in _meaning("Calibration copy", "magic")
    with open(DOC) as f:
        text = f.read()
    assert "Each copy is %d bytes" % calibration.SIZE in text
    assert "`/%s` and `/%s`" % CALIBRATION_FILES in text


# --- the reader, fuzzed ---------------------------------------------------------------------
_GOOD = [calibration.encode(c, seq) for c, seq in ((bench_fit(BEADS), 1), (NOMINAL, 2),
                                                   (bench_fit({"bead2_beta_pct": 3.0}), 77))]
json_values = json_values_of("pen", "board")
_GOOD_DOCS = [calibration.decode(g)[0] for g in _GOOD]


def _read(data):
    """calibration.read, counted: a Calibration within the check, or its own refusal."""
    COUNTS["inputs"] += 1
    try:
        cal, seq = calibration.read(data, MODEL)
    except calibration.CalibrationError as e:
        COUNTS["refused"] += 1
        assert str(e)
        return None
    except Exception:
        COUNTS["unexpected"] += 1
        raise
    COUNTS["read"] += 1
    assert len(cal.sensors) == calibration.SENSORS and cal.source in ("pen", "board")
    for a, b, c in cal.sensors:  # what the tables are built from reads the range one way
        calibration.check(a, b, c, MODEL)
    return cal


@FUZZ
@given(st.binary(max_size=calibration.SIZE + 8))
def test_random_bytes_are_refused_as_a_stored_calibration(data):
    assert _read(data) is None


@FUZZ
@given(**damage(_GOOD, calibration.SIZE))
def test_damaged_copies_are_read_or_refused(good, edits, fix_crc, cut):
    got = _read(damaged(good, edits, fix_crc, cut))
    if must_be_refused(good, edits, fix_crc, cut):
        assert got is None


@FUZZ
@given(st.data())
def test_intact_copies_of_any_content_are_read_within_the_check_or_refused(data):
    """Copies whose CRC is right over whatever JSON another firmware might have left:
    a coefficient, a sensor or the whole document replaced by any JSON, or a number
    moved near and beyond what the check takes."""
    d = json.loads(json.dumps(data.draw(st.sampled_from(_GOOD_DOCS))))
    for _ in range(data.draw(st.integers(0, 3))):
        where = data.draw(st.sampled_from(("doc", "source", "sensors", "sensor", "coefficient",
                                           "scaled")))
        sensor = data.draw(st.integers(0, 1))
        key = data.draw(st.sampled_from("abc"))
        if where == "doc":
            d = data.draw(json_values)
            break
        if where == "source":
            d["source"] = data.draw(json_values)
        elif where == "sensors":
            d["sensors"] = data.draw(json_values)
            break
        elif where == "sensor":
            d["sensors"][sensor] = data.draw(json_values)
            break
        elif where == "coefficient":
            d["sensors"][sensor][key] = data.draw(json_values)
            break
        else:
            d["sensors"][sensor][key] *= data.draw(st.floats(0.9, 1.1) | st.floats(-2, 2))
    body = json.dumps(d, separators=(",", ":")).encode()
    if len(body) > calibration.BODY_MAX:
        return
    head = struct.pack("<4sHHI", calibration.MAGIC, calibration.VERSION, len(body),
                       data.draw(st.integers(0, 2 ** 32 - 1)))
    raw = head + body
    raw += bytes(calibration.SIZE - 4 - len(raw))
    _read(raw + struct.pack("<I", binascii.crc32(raw) & 0xFFFFFFFF))


# --- the host link while it is refused ------------------------------------------------------
class Tip:
    tip_c = 20.0
    handle_c = 25.0


def booted(storage):
    """A pen booted from the storage as hal.boot.run wires it: the shell, the link's
    protocol with the calibration's hooks, and the serial the host writes to."""
    hal = FakeHal(sim_board, Tip())
    started = startup.start(sim_board, profiles.builtin("moderate"), storage, hal.now_ms(),
                            record.CAUSE_POWER)
    tips = started.clinic.calibration
    proto = protocol.Protocol(started.pen, sim_board, records=link.PenRecords(storage),
                              save=link.changes(started.journal, tips.keep),
                              clinic=started.clinic, calibration=tips.in_force)
    port = Port()
    app = App(hal, started.pen, storage, started.journal, started.record_ok, started.clinic,
              None, link.Link(port, proto, hal.now_ms))
    step(hal, app, 30)
    return hal, app, port


def step(hal, app, n=1):
    for _ in range(n):
        app.step()
        app.link.serve(hal.now_ms() + 8)
        hal.advance(10)


def replies(port):
    """The replies written since the last call, as (id, kind, body)."""
    lines = port.tx.split(b"\n")[:-1]
    port.tx = port.tx[port.tx.rfind(b"\n") + 1:]
    return [parse(x + b"\n") for x in lines]


def ask(hal, app, port, line):
    port.rx.extend(line.encode() + b"\n")
    step(hal, app, 20)  # 64 bytes an iteration each way
    return replies(port)


def short_press(hal, app):
    hal.mode_down = True
    step(hal, app, 10)
    hal.mode_down = False
    step(hal, app, 5)


def damaged_dir(tmp_path):
    """The pen's flash as a directory (the device's file system on the host), with a
    stored calibration whose copy 0 has one byte flipped."""
    storage = Storage(OsFs(os, open), str(tmp_path) + "/")
    storage.save_calibration(calibration.encode(bench_fit(BEADS), 1))
    path = tmp_path / CALIBRATION_FILES[0]
    data = bytearray(path.read_bytes())
    data[300] ^= 0x02
    path.write_bytes(bytes(data))
    return storage


def calibration_changes(storage):
    return [f["detail"] for _, f, _ in storage.records()
            if f is not None and f["kind"] == "change" and f["what"] == record.CHANGE_CALIBRATION]


def test_calibration_set_is_allowed_while_the_alarm_shows_and_ends_the_refusal(tmp_path):
    storage = damaged_dir(tmp_path)
    hal, app, port = booted(storage)
    assert app.pen.out.alarm == CAL_ALARM
    [(_, kind, doc)] = ask(hal, app, port, "1 calibration get")
    assert kind == "ok" and doc["source"] == "board" and doc["next_power_up"] is None
    assert doc["problem"] == "stored calibration refused: calib0.bin: bad CRC"
    fit = bench_fit(BEADS)
    [(_, kind, _)] = ask(hal, app, port, "2 calibration set " + json.dumps(
        {"sensors": fit.as_dict()["sensors"]}))
    assert kind == "pending" and app.pen.out.alarm == CAL_ALARM
    short_press(hal, app)
    [(id_, kind, body)] = replies(port)
    assert (id_, kind, body["stored"]) == ("2", "confirmed", True)
    assert app.pen.out.alarm == 0
    [(_, _, doc)] = ask(hal, app, port, "3 calibration get")
    assert doc["problem"] is None and doc["source"] == "board"  # in force: the tables' curve
    assert doc["next_power_up"]["source"] == "pen"
    hal.pressed = True
    step(hal, app, 30)
    assert app.pen.out.valve  # it treats, on the board's curve until the next power-up
    hal.pressed = False
    step(hal, app, 100)
    assert calibration_changes(storage) == ["pen"]
    again, app2, port2 = booted(storage)
    assert app2.pen.out.alarm == 0
    [(_, _, doc)] = ask(again, app2, port2, "4 calibration get")
    assert doc["source"] == "pen" and doc["problem"] is None and doc["next_power_up"] is None
    assert list(app2.pen.thermistor.table) == list(thermistor.Thermistor(
        fit.model(0), sim_board.DIVIDER_OHM, sim_board.ADC_BITS).table)


def test_a_refused_calibration_is_said_at_boot_on_the_device(tmp_path, capsys, monkeypatch):
    damaged_dir(tmp_path)
    for board, port in ((pico, machine_rp2), (esp32s3, machine_esp32)):
        chip = ready(board, port)
        chip.at(600, lambda: chip.set_input(board.TRIGGER_PIN, 0))
        boot_until(board, port, chip, 3000)
        out = capsys.readouterr().out
        assert ("cryopen: stored calibration refused: calib0.bin: bad CRC; not treating "
                "(calibration_invalid)") in out, out
        assert not chip.driven(board.VALVE_PIN) and not chip.driven(board.MASTER_VALVE_PIN)
        assert chip.wdt is not None  # the loop ran: it refuses, it does not hang


# --- service over the host link -------------------------------------------------------------
def ready(board, port):
    chip = port.power_on(board)
    set_tips(board, chip)
    return chip


def set_tips(board, chip):
    """Warm tips, a charged cell and the reference, as tests/host/test_machine_hal.py sets them."""
    from tests.host.test_machine_hal import set_battery, set_tip

    set_tip(board, 2000)
    set_tip(board, 2000, second=True)
    set_battery(board, 3900)
    if board.ADC_REF_PIN is not None:
        chip.set_adc(board.ADC_REF_PIN, board.ADC_REF_MV * 1000)


def boot_until(board, port, chip, stop_ms):
    """hal.boot.boot on the fake chip, as the board's main.py runs it, until its clock
    reaches stop_ms (Ctrl-C); returns how the boot ended: "service", "reset", "stopped"."""
    chip.clock.interrupt_at = stop_ms
    try:
        boot_mod.boot(board, port, chip.clock, chip.micropython, chip.select, chip.sys)
    except KeyboardInterrupt:
        return "stopped"
    except machine_fake.DeviceReset:
        return "reset"
    return boot_mod.MODE


@pytest.mark.parametrize("board, port", [(pico, machine_rp2), (esp32s3, machine_esp32)],
                         ids=["rp2040_pico", "esp32s3_devkit"])
def test_a_confirmed_service_restarts_the_pen_into_service_mode_once(board, port, tmp_path):
    flag = tmp_path / boot_mod.SERVICE_FLAG
    chip = ready(board, port)
    chip.at(500, lambda: chip.usb.host_send(b"1 service\n"))
    chip.at(1000, lambda: chip.set_input(board.MODE_PIN, 0))  # the clinician confirms
    chip.at(1150, lambda: chip.set_input(board.MODE_PIN, 1))
    assert boot_until(board, port, chip, 4000) == "reset"
    said = chip.usb.host_read()
    assert b"1 pending " in said and b"1 confirmed " in said
    assert flag.exists()
    assert not chip.driven(board.VALVE_PIN) and not chip.driven(board.MASTER_VALVE_PIN)
    chip = port.reboot(chip, board, "reset")
    set_tips(board, chip)
    assert boot_until(board, port, chip, 4000) == "service"  # returned: the REPL is free
    assert chip.wdt is None and not flag.exists()
    chip = port.reboot(chip, board, "power")
    set_tips(board, chip)
    assert boot_until(board, port, chip, 1000) == "stopped"  # the flag was for one power-up
    assert boot_mod.MODE == "run"


def test_service_without_the_press_expires_and_marks_nothing(tmp_path):
    flag = tmp_path / boot_mod.SERVICE_FLAG
    chip = ready(pico, machine_rp2)
    chip.at(500, lambda: chip.usb.host_send(b"1 service\n"))
    assert boot_until(pico, machine_rp2, chip, 13000) == "stopped"
    assert b"1 expired " in chip.usb.host_read() and not flag.exists()


def test_a_flag_that_cannot_be_written_restarts_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(boot_mod, "FLASH_ROOT", str(tmp_path / "gone") + "/")
    restarted = []
    boot_mod.service_reboot(lambda: restarted.append(1))()
    assert restarted == []
    assert "service mode cannot be marked" in capsys.readouterr().out


def test_service_over_the_link_on_the_virtual_pen_stops_one_power_up_in_service_mode():
    """The whole path on the virtual pen (`cryopen virtual-pen --run`): `service` on the
    link, the press on the pen, the restart through the bridge's machine.reset(), and a
    power-up that deploy admits (hal.boot.MODE), the flag taken."""
    import select
    import signal
    import subprocess
    import sys
    import time

    from host_tools.paths import ROOT
    from host_tools.pens import deploy, link_client
    from host_tools.pens.virtual_pen import die_with_parent, node_problem

    problem = node_problem()
    if problem:
        pytest.fail(problem)
    proc = subprocess.Popen(
        [sys.executable, "-c", "from host_tools.cli import entry; entry()", "virtual-pen",
         "--run", "--speed", "4"], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, start_new_session=True, preexec_fn=die_with_parent)

    def hands(line):
        proc.stdin.write(line + "\n")
        proc.stdin.flush()

    def when_idle():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with link_client.PenLink(port) as pen:
                    if pen.request("status")["state"] == "IDLE":
                        return
            except link_client.LinkError:
                pass
            time.sleep(0.2)
        raise AssertionError("the virtual pen never became IDLE")

    def press_mode(body):
        hands("mode on")
        time.sleep(0.2)
        hands("mode off")

    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        port = proc.stdout.readline().strip() if ready else ""
        assert port.startswith("/dev/"), port
        when_idle()
        with link_client.PenLink(port) as pen:
            pen.on_pending = press_mode  # the clinician confirms on the pen
            assert pen.request("service")["request"] == "service"
        mode = None
        deadline = time.monotonic() + 60
        while mode != "service" and time.monotonic() < deadline:
            try:
                mode = deploy.probe(port)["mode"]
            except deploy.DeployError:
                time.sleep(0.2)
        assert mode == "service"
        # The flag was for this power-up only: the gate took it (the next one treats,
        # test_a_confirmed_service_restarts_the_pen_into_service_mode_once).
        code = ("import os\ntry:\n    os.stat(%r)\n    print('flag: there')\nexcept OSError:\n"
                "    print('flag: gone')\n" % ("/" + boot_mod.SERVICE_FLAG))
        said = subprocess.run([sys.executable, "-m", "mpremote", "connect", port, "+", "resume",
                               "+", "exec", code], capture_output=True, text=True, timeout=60)
        assert "flag: gone" in said.stdout, said
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
