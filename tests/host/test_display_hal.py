"""The display on each reference board's port (hal/display.py on the `machine` fakes,
docs/PORTS.md): the bus it opens, the frame that reaches the board's SSD1306, the
errors each port raises, and the boot through an application whose display bus
sticks: the loop keeps its 10 ms ticks, the display goes off and is recorded once."""
import os

import pytest

from boards.esp32s3_devkit import board as esp32s3
from boards.rp2040_pico import board as pico
from firmware import record, screen
from hal import display as display_mod
from hal.machine_hal import MachineHal
from hal.storage import OsFs, Storage
from tests.core import pen_rig
from tests.host import machine_esp32, machine_rp2
from tests.host.test_machine_hal import dev, ready_device, run_boot

PORTS = {pico: machine_rp2, esp32s3: machine_esp32}
ERRNO = {pico: {"nack": 5, "timeout": 110}, esp32s3: {"nack": 19, "timeout": 116}}


@pytest.fixture(params=[pico, esp32s3], ids=["rp2040_pico", "esp32s3_devkit"])
def board(request):
    PORTS[request.param].power_on(request.param)
    return request.param


def test_the_display_starts_on_the_boards_bus_then_sends_a_page_at_a_time(board):
    d = display_mod.from_board(board, PORTS[board])
    assert d.on
    inits = dev().calls("i2c.init")
    spec = board.DISPLAY
    assert [entry[1:] for entry in inits] == [
        (spec["i2c"], spec["scl"], spec["sda"], spec["freq"], display_mod.INIT_TIMEOUT_US),
        (spec["i2c"], spec["scl"], spec["sda"], spec["freq"], display_mod.PAGE_TIMEOUT_US)]
    assert dev().oled.on and dev().oled.frame() == bytes(1024)  # the driver's blank frame
    rig = pen_rig.Rig()
    d.step(rig.t, rig.pen)
    dev().log.clear()
    for _ in range(8):
        t = dev().t_us
        d.step(rig.t, rig.pen)
        assert dev().t_us - t < 3500  # a page and its addressing: 3.2 ms at 400 kHz
    # Each page: six 2-byte commands (its column and page window), then its 129 bytes.
    sizes = [n for _, _, _, n in dev().calls("i2c.write")]
    assert sizes == ([2] * 6 + [129]) * 8
    buf, fb = screen.new_frame()
    screen.draw(fb, *screen.view(rig.pen, rig.t))
    assert dev().oled.frame() == bytes(buf)


def test_a_board_without_a_display_has_none():
    assert display_mod.from_board(object()) is None


def test_a_display_that_does_not_answer_is_off_with_the_ports_errno(board):
    dev().faults.add("oled_dead")
    d = display_mod.from_board(board, PORTS[board])
    assert not d.on and d.error == "errno %d" % ERRNO[board]["nack"]


def test_a_stuck_bus_costs_a_page_timeout_at_most_and_turns_the_display_off(board):
    d = display_mod.from_board(board, PORTS[board])
    rig = pen_rig.Rig()
    d.step(rig.t, rig.pen)
    dev().faults.add("i2c_stuck")
    t = dev().t_us
    d.step(rig.t, rig.pen)
    assert dev().t_us - t == display_mod.PAGE_TIMEOUT_US  # the first write gave up, no more
    assert not d.on and d.error == "errno %d" % ERRNO[board]["timeout"]


def test_pins_the_port_refuses_leave_no_display_and_a_reason():
    machine_rp2.power_on(pico)
    wrong = type("Board", (), {"DISPLAY": dict(pico.DISPLAY, scl=4, sda=5)})
    d = display_mod.from_board(wrong, machine_rp2)
    assert not d.on and d.error == "ValueError"


def feeds(monkeypatch):
    """The fake clock at each watchdog feed: one per tick that ran to its end."""
    times = []
    feed = MachineHal.feed_watchdog

    def spy(hal):
        times.append(dev().t_us)
        feed(hal)

    monkeypatch.setattr(MachineHal, "feed_watchdog", spy)
    return times


def test_a_bus_that_sticks_during_an_application_never_delays_a_tick(board, monkeypatch):
    from hal import boot as boot_mod

    ready_device(board)
    times = feeds(monkeypatch)
    dev().at(300, lambda: dev().set_input(board.TRIGGER_PIN, 0))
    gas = []
    dev().at(700, lambda: gas.append(dev().gas_flows()))
    dev().at(705, lambda: dev().faults.add("i2c_stuck"))
    dev().at(900, lambda: gas.append(dev().gas_flows()))
    run_boot(board, 3000)  # the tips never cool: no_cooling ends the application
    assert gas == [True, True]  # stuck while the valves were open
    # Every tick on its 10 ms schedule: App.run sleeps in whole ms, so a tick may
    # start up to 1 ms after its deadline, never later, and none is skipped.
    start = times[0] // 1000 * 1000  # the schedule's anchor, in whole ms
    late = [t - start - 10000 * k for k, t in enumerate(times)]
    assert 0 <= min(late) and max(late) < 1000
    assert len(times) >= 100
    # Recorded once, with why it went off.
    records = [fields for _, fields, _ in Storage(OsFs(os, open), boot_mod.FLASH_ROOT).records()]
    noted = [r["detail"] for r in records
             if r["kind"] == "change" and r["what"] == record.CHANGE_DISPLAY]
    assert noted == ["errno %d" % ERRNO[board]["timeout"]]
