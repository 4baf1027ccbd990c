"""The device HAL allocates nothing where it must not, proved with the heap
locked (any allocation then raises MemoryError): the backstop's hard-interrupt
handler, and the whole control tick (App.step on MachineHal) through an
application, on both reference boards. `machine` is the hand-written fake
(tests/host/machine_fake.py) with its call log off."""
import micropython

from boards.esp32s3_devkit import board as esp32s3
from boards.rp2040_pico import board as pico
from firmware import pen, profiles
from firmware.app import App
from hal.machine_hal import MachineHal
from tests.host import machine_fake as mf

BOARDS = ((pico, "rp2"), (esp32s3, "esp32"))
TICK_MS = 10
TICKS = 400  # 4 s: leave BOOT, press at 0.5 s, release at 3 s, rest
PRESS_TICK = 50
RELEASE_TICK = 300
# Warm tip (about +25 C) and a charged cell (3.9 V), as each board's ADC reports them.
READINGS = {"rp2": (30000, 40000), "esp32": (1100000, 1950000)}


def _device(board, port):
    mf.reset(port)
    tip, battery = READINGS[port]
    mf.set_adc(board.THERMISTOR_PIN, tip)
    mf.set_adc(board.BATTERY_PIN, battery)
    hal = MachineHal(board, mf, mf.clock)
    mf.recording = False  # the log's appends would allocate
    return hal


def _allocating_handler(timer):
    timer.seen = [timer]


def test_heap_lock_catches_an_allocating_handler():
    mf.reset("rp2")
    timer = mf.Timer(-1)
    caught = False
    micropython.heap_lock()
    try:
        _allocating_handler(timer)
    except MemoryError:
        caught = True
    micropython.heap_unlock()
    assert caught


def test_backstop_handler_allocates_nothing_and_closes_the_valves():
    for board, port in BOARDS:
        hal = _device(board, port)
        hal.master(True)
        hal.valve(True, 500)
        timer = mf.timer(board.BACKSTOP_TIMER_ID)
        callback = timer.callback
        micropython.heap_lock()
        callback(timer)
        micropython.heap_unlock()
        assert hal.backstop_fired == 1, board.NAME
        assert not mf.driven(board.VALVE_PIN), board.NAME
        if board.MASTER_VALVE_PIN is not None:
            assert not mf.driven(board.MASTER_VALVE_PIN), board.NAME


def test_control_tick_allocates_nothing_through_an_application():
    for board, port in BOARDS:
        hal = _device(board, port)
        app = App(hal, pen.build(board, profiles.builtin("moderate"), hal.now_ms()))
        opened = False
        for tick in range(TICKS):
            if tick == PRESS_TICK:
                mf.set_input(board.TRIGGER_PIN, 0)
            elif tick == RELEASE_TICK:
                mf.set_input(board.TRIGGER_PIN, 1)
            micropython.heap_lock()
            app.step()  # a MemoryError inside would latch FAULT and count in errors
            micropython.heap_unlock()
            opened = opened or mf.driven(board.VALVE_PIN)
            mf.clock.advance(TICK_MS)
        assert app.pen.exceptions == 0, board.NAME
        assert opened, board.NAME  # the locked ticks did run an application
        assert not mf.driven(board.VALVE_PIN), board.NAME
