"""The device HAL allocates nothing where it must not, proved with the heap
locked (any allocation then raises MemoryError): the backstop timer's handler,
the second valve's keepalive, both tip readings (the esp32 ratio included), and
the whole control tick (App.step on MachineHal) through an application, on both
reference boards. `machine` is the hand-written fake of each board's port
(tests/host/machine_rp2.py, machine_esp32.py) with its call log off."""
import micropython

from boards.esp32s3_devkit import board as esp32s3
from boards.rp2040_pico import board as pico
from firmware import pen, profiles
from firmware.app import App
from hal.machine_hal import MachineHal
from tests.host import machine_esp32, machine_rp2

BOARDS = ((pico, machine_rp2), (esp32s3, machine_esp32))
TICK_MS = 10
TICKS = 400  # 4 s: leave BOOT, press at 0.5 s, release at 3 s, rest
PRESS_TICK = 50
RELEASE_TICK = 300
# Warm tips (about +25 C), a charged cell (3.9 V) and the reference, as each port's ADC reports them.
READINGS = {"rp2": (30000, 40000, None), "esp32": (1100000, 1950000, 2500000)}


def _device(board, machine):
    chip = machine.power_on(board)
    tip, battery, ref = READINGS[machine.NAME]
    chip.set_adc(board.THERMISTOR_PIN, tip)
    chip.set_adc(board.THERMISTOR2_PIN, tip)
    chip.set_adc(board.BATTERY_PIN, battery)
    if ref is not None:
        chip.set_adc(board.ADC_REF_PIN, ref)
    hal = MachineHal(board, machine, chip.clock)
    chip.recording = False  # the log's appends would allocate
    return chip, hal


def _allocating_handler(timer):
    timer.seen = [timer]


def test_heap_lock_catches_an_allocating_handler():
    machine_rp2.power_on(pico)
    timer = machine_rp2.Timer(-1)
    caught = False
    micropython.heap_lock()
    try:
        _allocating_handler(timer)
    except MemoryError:
        caught = True
    micropython.heap_unlock()
    assert caught


def test_backstop_handler_allocates_nothing_and_closes_the_valves():
    for board, machine in BOARDS:
        chip, hal = _device(board, machine)
        hal.master(True)
        hal.valve(True, 500)
        timer = chip.timer(board.BACKSTOP_TIMER_ID)
        callback = timer.callback
        micropython.heap_lock()
        callback(timer)
        micropython.heap_unlock()
        assert hal.backstop_fired == 1, board.NAME
        assert not chip.driven(board.VALVE_PIN), board.NAME
        assert not chip.driven(board.MASTER_VALVE_PIN), board.NAME


def test_keepalive_and_both_tip_readings_allocate_nothing():
    for board, machine in BOARDS:
        chip, hal = _device(board, machine)
        readings = []
        for _ in range(6):
            micropython.heap_lock()
            hal.valve(True, 500)
            hal.master(True)
            raw = hal.read_tip()
            raw2 = hal.read_tip2()
            micropython.heap_unlock()
            readings.append((raw, raw2))
            chip.clock.advance(TICK_MS)
        assert chip.gas_flows(), board.NAME
        assert chip.monostable.edges == 3, board.NAME  # the keepalive toggled every call
        assert readings[0][0] > 0 and readings[0] == readings[-1], board.NAME
        micropython.heap_lock()
        hal.master(False)  # closing, too
        hal.valve(False, 0)
        micropython.heap_unlock()
        assert not chip.gas_flows(), board.NAME


def test_control_tick_allocates_nothing_through_an_application():
    for board, machine in BOARDS:
        chip, hal = _device(board, machine)
        app = App(hal, pen.build(board, profiles.builtin("moderate"), hal.now_ms()))
        opened = False
        for tick in range(TICKS):
            if tick == PRESS_TICK:
                chip.set_input(board.TRIGGER_PIN, 0)
            elif tick == RELEASE_TICK:
                chip.set_input(board.TRIGGER_PIN, 1)
            micropython.heap_lock()
            app.step()  # a MemoryError inside would latch FAULT and count in errors
            micropython.heap_unlock()
            opened = opened or chip.gas_flows()
            chip.clock.advance(TICK_MS)
        assert app.pen.exceptions == 0, board.NAME
        assert opened, board.NAME  # the locked ticks did run an application
        assert not chip.driven(board.VALVE_PIN), board.NAME
