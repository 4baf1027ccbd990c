"""The tip sensors' calibration on the pen. Its stored form (firmware/calibration.py):
a copy round-trips, any damage or foreign content is refused with what is wrong,
and of two copies none that fails is ever passed over for its twin. What the pen
does with it at power-up (firmware/startup.py, TipCalibration, through the shell
firmware/app.py): both sensors' tables built from a stored one, the board's curve
when none is stored, and a refused one never replaced on the pen's own: no
application until the restore gesture or the host link. Runs under CPython and
under MicroPython (tests/mpy/run.mjs)."""
import struct

from boards.sim import board
from firmware import alarms, calibration, config, record, states, thermistor
from hal.storage import CALIBRATION_FILES, Storage
from tests.core.support import assert_copy_refusals, raises, with_crc
from tests.core.test_clinic_config import CFG, Pen, hold_mode_and_reset
from tests.core.test_storage import DictFs

MODEL = thermistor.model_from_board(board)
NOMINAL = calibration.nominal(board)
CAL_ALARM = alarms.worst(alarms.F_CALIBRATION)
CONFIG_ALARM = alarms.worst(alarms.F_CONFIG)


def fitted(shift1=1.01, shift2=0.995):
    """A bench fit: each sensor's a moved (about 1 C at room temperature), both plausible."""
    (a, b, c), (a2, b2, c2) = NOMINAL.sensors
    return calibration.Calibration(((a * shift1, b, c), (a2 * shift2, b2, c2)), "pen")


def _problem(data):
    return str(raises(calibration.CalibrationError, calibration.read, bytes(data), MODEL))


def stored(cal, seq=1, fs=None):
    fs = fs or DictFs()
    Storage(fs).save_calibration(calibration.encode(cal, seq))
    return fs


def damaged(at=40):
    fs = stored(fitted())
    data = bytearray(fs.files["/" + CALIBRATION_FILES[0]])
    data[at] ^= 0x04
    fs.files["/" + CALIBRATION_FILES[0]] = bytes(data)
    return fs


# --- the stored form --------------------------------------------------------------------
def test_a_copy_round_trips_with_its_source():
    for cal, seq in ((fitted(), 1), (NOMINAL, 4294967295)):
        data = calibration.encode(cal, seq)
        assert len(data) == calibration.SIZE
        got, got_seq = calibration.read(data, MODEL)
        assert got_seq == seq and got.source == cal.source
        for mine, theirs in zip(got.sensors, cal.sensors):
            assert [abs(x - y) <= abs(y) * 1e-9 for x, y in zip(mine, theirs)] == [True] * 3


def test_every_changed_byte_is_refused():
    good = calibration.encode(fitted(), 3)
    for at in range(0, len(good), 3):
        bad = bytearray(good)
        bad[at] ^= 0x10
        assert _problem(bad) == "bad CRC", at


def test_a_torn_or_oversized_copy_is_refused():
    good = calibration.encode(fitted(), 3)
    for n in list(range(0, 40)) + list(range(40, len(good), 61)):
        assert "cut short" in _problem(good[:n]), n
    assert "cut short" in _problem(good + b"\x00")


def test_an_intact_crc_over_foreign_content_is_refused_with_what_is_wrong():
    good = calibration.encode(fitted(), 3)
    assert "not a calibration copy" in _problem(with_crc(bytes(b"CPCF") + good[4:]))
    assert_copy_refusals(good, b"CPCF", calibration.VERSION + 1, _problem)


def _copy_of(body, seq=1):
    """An intact copy around any body, as another firmware might have left one."""
    data = struct.pack("<4sHHI", calibration.MAGIC, calibration.VERSION, len(body), seq) + body
    return with_crc(data + bytes(calibration.SIZE - len(data)))


def test_a_copy_that_reads_is_still_checked_against_the_boards_curve():
    (a, b, c), good = NOMINAL.sensors[0], '{"a": %r, "b": %r, "c": %r}' % NOMINAL.sensors[0]
    cases = (
        ('{"sensors": [%s, {"a": %r, "b": %r, "c": %r}]}' % (good, a, -b, c),
         "calibration.sensors[1]: not monotonic"),
        ('{"sensors": [{"a": %r, "b": %r, "c": %r}, %s]}' % (a * 1.2, b, c, good),
         "calibration.sensors[0]: reads"),
        ('{"sensors": [%s]}' % good, "must list 2 sensors"),
        ('{"sensors": [%s, %s], "source": "lab"}' % (good, good), "calibration.source"),
        ('[1, 2]', "must be an object"),
    )
    for body, problem in cases:
        assert problem in _problem(_copy_of(body.encode())), (body, _problem(_copy_of(body.encode())))


def test_a_damaged_copy_is_refused_even_beside_a_valid_twin():
    good = calibration.encode(fitted(), 5)
    bad = bytearray(good)
    bad[100] ^= 1
    for copies in (((CALIBRATION_FILES[0], bytes(bad)), (CALIBRATION_FILES[1], good)),
                   ((CALIBRATION_FILES[0], good), (CALIBRATION_FILES[1], bytes(bad)))):
        e = raises(calibration.CalibrationError, calibration.choose, copies, MODEL)
        assert str(e).endswith("bad CRC") and str(e).count(".bin") == 1


def test_copies_left_by_a_write_cut_between_them_give_the_newer():
    older, newer = calibration.encode(fitted(), 4), calibration.encode(fitted(1.02), 5)
    assert calibration.choose(((CALIBRATION_FILES[0], None), (CALIBRATION_FILES[1], None)),
                              MODEL) is None
    for copies in (((CALIBRATION_FILES[0], newer), (CALIBRATION_FILES[1], older)),
                   ((CALIBRATION_FILES[0], newer), (CALIBRATION_FILES[1], None))):
        got = calibration.choose(copies, MODEL)
        assert got.seq == 5 and not got.whole and got.data == newer
    got = calibration.choose(((CALIBRATION_FILES[0], newer), (CALIBRATION_FILES[1], newer)), MODEL)
    assert got.whole


# --- at power-up ----------------------------------------------------------------------------
def changes(p):
    """The calibration's change records, their details."""
    return [c["detail"] for c in p.records("change") if c["what"] == record.CHANGE_CALIBRATION]


def _table(cal, i):
    divider = board.DIVIDER2_OHM if i else board.DIVIDER_OHM
    return list(thermistor.Thermistor(cal.model(i), divider, board.ADC_BITS).table)


def test_a_stored_calibration_builds_both_sensors_tables_at_power_up():
    cal = fitted()
    p = Pen(stored(cal, 7))
    tips = p.clinic.calibration
    assert tips.problem is None and tips.stored and tips.seq == 7 and tips.next is None
    assert list(p.pen.thermistor.table) == _table(tips.in_force, 0)
    assert list(p.pen.thermistor2.table) == _table(tips.in_force, 1)
    nominal = thermistor.from_board(board)
    assert list(p.pen.thermistor.table) != list(nominal.table)
    # A reading that the board's curve takes for -50 C is what the bench fit says it is.
    raw = nominal.raw_for(-5000)
    assert p.pen.thermistor.read(raw) == thermistor.OK
    expect = cal.model(0).kelvin(nominal.ohms_at(raw)) - thermistor.KELVIN
    assert abs(p.pen.thermistor.cc - expect * 100) <= 2 and abs(p.pen.thermistor.cc + 5000) > 30
    p.hal.pressed = True
    assert p.run(300)  # it treats


def test_without_a_stored_calibration_the_pen_reads_the_boards_curve():
    fs = DictFs()
    p = Pen(fs)
    tips = p.clinic.calibration
    assert tips.problem is None and not tips.stored and tips.in_force.source == "board"
    assert list(p.pen.thermistor.table) == list(thermistor.from_board(board).table)
    assert list(p.pen.thermistor2.table) == list(thermistor.from_board(board, True).table)
    assert ["/" + n for n in CALIBRATION_FILES if "/" + n in fs.files] == []  # nothing invented


def test_a_write_cut_between_the_copies_is_finished_at_boot():
    fs = stored(fitted(), 4)
    newer = calibration.encode(fitted(1.02), 5)
    fs.files["/" + CALIBRATION_FILES[0]] = newer
    p = Pen(fs)
    assert p.clinic.calibration.seq == 5 and fs.files["/" + CALIBRATION_FILES[1]] == newer


def test_a_refused_calibration_keeps_the_valves_closed_with_its_alarm():
    for fs, why in ((damaged(), "calib0.bin: bad CRC"),
                    (stored(calibration.Calibration(((1e-3, -3e-4, 6e-8),) * 2, "pen")),
                     "not monotonic")):
        p = Pen(fs)
        tips = p.clinic.calibration
        assert why in tips.problem and tips.problem.startswith("stored calibration refused")
        assert p.clinic.problem is None  # the configuration is not what failed
        assert list(p.pen.thermistor.table) == list(thermistor.from_board(board).table)
        p.run(100)
        for _ in range(3):
            p.hal.pressed = True
            assert not p.run(1000)
            p.hal.pressed = False
            p.run(200)
            p.reset()  # a reset does not clear it
        assert states.STATE_NAMES[p.out.state] == "IDLE" and p.out.alarm == CAL_ALARM
        assert alarms.name_of(p.out.alarm) == "calibration_invalid"
        assert alarms.priority(p.out.alarm) == alarms.MEDIUM and p.out.fault == 0


def test_a_calibration_that_cannot_be_read_is_refused_too():
    p = Pen(DictFs(unreadable="calib"))
    assert "cannot be read" in p.clinic.calibration.problem
    p.hal.pressed = True
    assert not p.run(500)


def test_the_restore_gesture_stores_and_records_the_boards_curve():
    p = Pen(damaged())
    p.run(100)
    hold_mode_and_reset(p, 5000, 2)
    assert p.clinic.calibration.problem is not None  # two presses are not enough
    hold_mode_and_reset(p, 0, 1)
    assert p.clinic.calibration.problem is None
    p.hal.mode_down = False
    p.run(200)
    assert p.out.alarm == 0
    got = calibration.choose(Storage(p.fs).calibration_copies(), MODEL)
    assert got.whole and got.calibration.source == "board"
    assert changes(p) == ["board"]
    assert p.pen.session == 1 and getattr(p.pen, "cartridges", 0) == 0
    p.hal.pressed = True
    assert p.run(500)  # it treats again, on the board's curve
    again = Pen(p.fs)  # and so does the next power-up
    assert again.clinic.calibration.problem is None
    assert again.clinic.calibration.in_force.source == "board"


def test_no_accident_restores_the_boards_curve():
    p = Pen(damaged())
    p.run(100)
    hold_mode_and_reset(p, 4000, 5)  # pressed before the hold is long enough
    p.hal.mode_down = False
    p.run(100)
    hold_mode_and_reset(p, 5000, 2)
    p.hal.mode_down = False  # released: the count starts again
    p.run(100)
    hold_mode_and_reset(p, 5000, 2)
    p.hal.mode_down = False
    p.run(100)
    p.reset()
    p.run(100)
    assert p.clinic.calibration.problem is not None
    assert getattr(p.pen, "cartridges", 0) == 0 and p.pen.session == 1
    assert changes(p) == []


def test_with_both_refused_each_restore_needs_its_own_gesture():
    fs = damaged()
    Storage(fs).save_config(config.encode(CFG, 1))
    data = bytearray(fs.files["/config0.bin"])
    data[40] ^= 0x04
    fs.files["/config0.bin"] = bytes(data)
    p = Pen(fs)
    p.run(100)
    assert p.out.alarm == CONFIG_ALARM  # the first of two of one priority
    hold_mode_and_reset(p, 5000, 3)
    assert p.clinic.problem is None and p.clinic.calibration.problem is not None
    assert p.out.alarm == CAL_ALARM
    hold_mode_and_reset(p, 0, 3)  # a press more, even three, is not the next restore
    assert p.clinic.calibration.problem is not None
    hold_mode_and_reset(p, 5000, 3)  # a hold of its own
    assert p.clinic.calibration.problem is None
    p.hal.mode_down = False
    p.run(200)
    assert p.out.alarm == 0
    assert [c["detail"] for c in p.records("change")] == ["factory", "board"]


def test_the_host_links_calibration_ends_a_refusal_for_the_next_power_up():
    p = Pen(damaged())
    p.run(100)
    tips = p.clinic.calibration
    cal = fitted(1.02, 0.99)
    tips.keep(cal)
    assert tips.problem is None and tips.next is cal and tips.in_force.source == "board"
    p.run(100)
    assert p.out.alarm == 0
    p.hal.pressed = True
    assert p.run(300)  # on the board's curve until the next power-up
    again = Pen(p.fs)
    assert again.clinic.calibration.problem is None and again.clinic.calibration.stored
    assert list(again.pen.thermistor.table) == _table(cal, 0)


def test_a_calibration_that_cannot_be_stored_changes_nothing():
    class Full(DictFs):
        def open(self, path, mode):
            if "calib" in path and "w" in mode:
                raise OSError(28)
            return DictFs.open(self, path, mode)

    p = Pen(Full())
    tips = p.clinic.calibration
    raises(OSError, tips.keep, fitted())
    assert tips.next is None and tips.seq == 0
