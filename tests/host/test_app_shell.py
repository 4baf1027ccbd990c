"""The shell around the pen (firmware/app.py) with the HAL fake."""
from boards.sim import board
from firmware import alarms, pen as pen_mod, profiles
from firmware.app import App
from hal.fake import FakeHal


class Tip:
    tip_c = 25.0

    def empty_cartridge(self):
        pass


class Broken:
    cc = 0

    def read(self, raw):
        raise ValueError("converter exploded")


def rig():
    hal = FakeHal(board, Tip())
    hal.start_watchdog(board.WDT_MS)
    return hal, App(hal, pen_mod.build(board, profiles.builtin("moderate")))


def test_the_watchdog_is_fed_while_ticks_complete():
    hal, app = rig()
    for _ in range(300):
        app.step()
        hal.advance(10)
    assert not hal.wdt_expired


def test_a_tick_that_raises_every_time_starves_the_watchdog():
    hal, app = rig()
    app.pen.thermistor = Broken()
    for _ in range(board.WDT_MS // 10 + 2):
        out = app.step()
        hal.advance(10)
    assert out.fault & alarms.F_EXCEPTION and not out.valve
    assert hal.wdt_expired


def test_the_fake_keeps_the_valve_closed_after_the_backstop_fired():
    hal, app = rig()
    hal.valve(True, 50)
    hal.master(True)
    hal.advance(60)
    assert hal.backstop_fired and not hal.valve_open
    hal.valve(True, 50)
    hal.master(True)
    assert not hal.valve_open


def test_a_hal_that_raises_closes_the_valves_once_per_tick_even_with_no_clock(mocker):
    hal, app = rig()
    hal.pressed = False
    app.step()
    hal.advance(10)
    hal.pressed = True
    assert app.step().valve and hal.valve_open
    mocker.patch.object(hal, "read_tip", side_effect=OSError(5, "converter gone"))
    mocker.patch.object(hal, "now_ms", side_effect=[hal.now_ms(), OSError(5, "clock gone")])
    out = app.step()
    assert not hal.valve_open and not out.valve and out.fault & alarms.F_EXCEPTION
    assert app.pen.exceptions == 1


def test_flash_writes_happen_only_with_both_valves_closed(mocker):
    from host_tools.sim import scenario, simulator

    doc = {"name": "writes", "profile": "aftercare", "duration_s": 40, "events": [
        {"t": 1.0, "trigger": True}, {"t": 4.0, "trigger": False},
        {"t": 10.0, "trigger": True}, {"t": 13.0, "fault": "thermistor_open"},
        {"t": 14.0, "clear": "thermistor_open"}, {"t": 15.0, "trigger": False},
        {"t": 16.0, "reset": True}, {"t": 25.0, "trigger": True}, {"t": 30.0, "trigger": False}]}
    sim = simulator.Simulation(scenario.from_dict(doc))
    seen = []

    def spy(real):
        def write(payload):
            hal = sim.hal
            seen.append((hal.valve_cmd, hal.master_cmd, hal.gas_flows))
            return real(payload)
        return write

    mocker.patch.object(sim.storage, "save_state", side_effect=spy(sim.storage.save_state))
    mocker.patch.object(sim.storage, "append", side_effect=spy(sim.storage.append))
    summary = sim.run().summary
    assert len(summary["applications"]) == 3
    assert len(seen) >= 10  # boot, each application's end and arming, the fault
    assert not any(any(s) for s in seen)
