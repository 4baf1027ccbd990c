"""A refused sensor calibration adds nothing to the tick's heap: App.step raises
calibration_invalid every tick and watches for the restore gesture, on the device
HAL (the rp2 port's `machine` fake), with the heap locked around every step,
presses and a trigger press included. And the calibration's copies and the service
flag on MicroPython's own file system, through `os` and the built-in open as
hal/boot.py hands them in. MicroPython only (tests/mpy/run.mjs)."""
import micropython

from boards.rp2040_pico import board
from firmware import alarms, pen as pen_mod, profiles, startup
from firmware.app import App
from tests.host import machine_rp2
from tests.core.support import flip_bit
from tests.mpy.test_machine_hal_alloc import TICK_MS, _device


def test_a_refused_calibration_and_its_gesture_allocate_nothing():
    chip, hal = _device(board, machine_rp2)
    pen = pen_mod.build(board, profiles.builtin("moderate"), hal.now_ms())
    clinic = startup.Clinic(None, pen.profile)
    tips = startup.TipCalibration(None, board)
    tips.problem = "test"
    clinic.calibration = tips
    app = App(hal, pen, clinic=clinic)
    alarm = alarms.worst(alarms.F_CALIBRATION)
    shown = 0
    opened = False
    for tick in range(700):  # 7 s
        if tick == 50:
            chip.set_input(board.TRIGGER_PIN, 0)  # refused: nothing treats
        elif tick == 150:
            chip.set_input(board.TRIGGER_PIN, 1)
        elif tick == 200:
            chip.set_input(board.MODE_PIN, 0)  # held ...
        elif tick in (300, 400, 500):  # ... reset pressed before the hold is long enough
            chip.set_input(board.RESET_PIN, 0)
        elif tick in (320, 420, 520):
            chip.set_input(board.RESET_PIN, 1)
        micropython.heap_lock()
        out = app.step()
        micropython.heap_unlock()
        shown += out.alarm == alarm
        opened = opened or chip.gas_flows()
        chip.clock.advance(TICK_MS)
    assert pen.exceptions == 0, "a step allocated under the locked heap"
    assert not opened and tips.problem == "test"
    assert shown > 600


# --- on MicroPython's own file system ------------------------------------------------------
def test_a_stored_and_a_damaged_calibration_on_the_ports_file_system():
    from boards.sim import board as sim
    from firmware import calibration, record
    from tests.mpy.test_storage_os import fresh

    st = fresh("calibration_stored")
    (a, b, c), (a2, b2, c2) = calibration.nominal(sim).sensors
    cal = calibration.Calibration(((a * 1.01, b, c), (a2, b2, c2)), "pen")
    st.save_calibration(calibration.encode(cal, 2))
    started = startup.start(sim, profiles.builtin("moderate"), st, 0, record.CAUSE_POWER)
    tips = started.clinic.calibration
    assert tips.problem is None and tips.stored and tips.seq == 2
    path = st.root + "calib0.bin"
    flip_bit(path, 50)
    started = startup.start(sim, profiles.builtin("moderate"), st, 0, record.CAUSE_POWER)
    assert started.clinic.calibration.problem == "stored calibration refused: calib0.bin: bad CRC"


def test_the_service_flag_is_taken_once_on_the_ports_file_system():
    from hal import boot
    from tests.mpy.test_storage_os import fresh

    root = fresh("service_flag").root
    saved = boot.FLASH_ROOT
    boot.FLASH_ROOT = root
    try:
        restarted = []
        boot.service_reboot(lambda: restarted.append(1))()
        assert restarted == [1]
        assert boot._take_service_flag() and not boot._take_service_flag()
    finally:
        boot.FLASH_ROOT = saved
