"""The shell (firmware/app.py) on the HAL fake: the treatment record's demands on
the pen, and the device loop's 100 Hz schedule, with the valves closed however the
loop ends."""
from boards.sim import board
from firmware import alarms, journal, pen as pen_mod, profiles, record, signals, store
from firmware.app import App
from hal.fake import FakeHal
from tests.core.support import raises


class Tip:
    tip_c = 25.0
    handle_c = 25.0

    def empty_cartridge(self):
        pass


class Stop(Exception):
    pass


def shell():
    hal = FakeHal(board, Tip())
    return hal, App(hal, pen_mod.build(board, profiles.builtin("moderate")))


def schedule(work_ms, ticks=8):
    """Runs App.run, where tick i takes work_ms[i] ms of the clock (3 ms past the list),
    for `ticks` ticks. Returns the clock at each tick's start, and the sleeps asked for."""
    hal, app = shell()
    starts, sleeps = [], []
    real_step, real_sleep = app.step, hal.sleep_ms

    def step():
        if len(starts) == ticks:
            raise Stop()
        i = len(starts)
        starts.append(hal.now_ms())
        out = real_step()
        hal.advance(work_ms[i] if i < len(work_ms) else 3)
        return out

    def sleep_ms(ms):
        sleeps.append(ms)
        real_sleep(ms)

    app.step = step
    hal.sleep_ms = sleep_ms
    raises(Stop, app.run)
    return starts, sleeps


def test_ticks_keep_a_drift_free_10_ms_grid_sleeping_what_is_left():
    work = [0, 1, 3, 5, 7, 9, 10, 2]
    starts, sleeps = schedule(work)
    assert starts == [0, 10, 20, 30, 40, 50, 60, 70]
    assert sleeps == [10 - w for w in work if w < 10]  # no sleep when nothing is left


def test_a_tick_late_by_up_to_a_whole_tick_is_caught_up_on_the_same_grid():
    starts, _ = schedule([15, 3, 3])  # the next tick starts at once, then back on the grid
    assert starts == [0, 15, 20, 30, 40, 50, 60, 70]
    starts, _ = schedule([20, 3, 3])  # exactly one whole tick late
    assert starts == [0, 20, 23, 30, 40, 50, 60, 70]


def test_a_longer_overrun_restarts_the_grid_from_now_without_a_burst():
    starts, _ = schedule([35, 3, 3])
    assert starts == [0, 35, 45, 55, 65, 75, 85, 95]


def test_the_valves_close_however_the_loop_ends():
    hal, app = shell()
    seen = []
    real_sleep = hal.sleep_ms

    def sleep_ms(ms):
        seen.append(hal.gas_flows)
        hal.pressed = len(seen) >= 3  # released at boot, then pressed
        if len(seen) == 10:
            raise KeyboardInterrupt  # Ctrl-C over the USB link, mid-application
        real_sleep(ms)

    hal.sleep_ms = sleep_ms
    raises(KeyboardInterrupt, app.run)
    assert seen[-1]  # gas was flowing when the loop was stopped
    assert not hal.valve_cmd and not hal.master_cmd and not hal.gas_flows


NO_RECORD = alarms.worst(alarms.F_NO_RECORD)


class Flash:
    """The pen's flash as the shell writes it (hal/storage.py): each write and whether
    a valve was commanded open then; broken: every write fails."""

    def __init__(self, hal):
        self.hal = hal
        self.writes = []
        self.broken = False

    def save_state(self, payload):
        assert isinstance(payload, store.State)  # state copies take the stored state ...
        self._write(journal.STATE)

    def append(self, payload):
        record.decode(payload)  # ... and the record's ring an encoded record
        self._write(journal.RECORD)

    def _write(self, what):
        if self.broken:
            raise OSError(5, "EIO")
        self.writes.append((what, self.hal.valve_cmd or self.hal.master_cmd))


def recording(record_ok=True):
    hal = FakeHal(board, Tip())
    pen = pen_mod.build(board, profiles.builtin("moderate"))
    flash = Flash(hal)
    return hal, App(hal, pen, flash, journal.Journal(1, pen.session, 15), record_ok), flash


def run(hal, app, ms):
    """Steps the shell for ms, 10 ms a tick; returns the last outputs and whether gas flowed."""
    flowed = False
    for _ in range(ms // 10):
        out = app.step()
        flowed = flowed or hal.gas_flows
        hal.advance(10)
    return out, flowed


def test_without_its_record_the_pen_treats_only_once_reset_accepts_that_while_it_says_so():
    hal, app, _ = recording(record_ok=False)
    out, _ = run(hal, app, 100)
    assert out.alarm == NO_RECORD and out.fault == 0
    hal.pressed = True
    out, flowed = run(hal, app, 500)
    assert not flowed  # refused
    hal.pressed = False
    hal.inject("low_battery")  # another alarm shows: a reset now is no acceptance
    run(hal, app, 100)
    hal.reset_pending = True
    run(hal, app, 100)
    hal.clear("low_battery")
    out, _ = run(hal, app, 100)
    assert out.alarm == NO_RECORD
    hal.reset_pending = True  # while the pen says so: accepted at once, until the next boot
    assert app.step().alarm == 0
    out, _ = run(hal, app, 100)
    assert out.alarm == 0 and out.fault == 0
    hal.pressed = True
    out, flowed = run(hal, app, 500)
    assert flowed and out.alarm == 0


def test_without_its_record_the_pen_still_latches_what_the_hal_reports():
    hal, app, _ = recording(record_ok=False)
    run(hal, app, 100)
    hal.inject("adc_error")
    out, _ = run(hal, app, 20)
    assert out.fault & alarms.F_ADC


def test_a_failed_write_loses_that_entry_and_stops_treatment_until_accepted():
    hal, app, flash = recording()
    flash.broken = True
    out, _ = run(hal, app, 100)  # entering IDLE writes the state ahead of an application
    assert app.write_errors == 1
    assert out.alarm == NO_RECORD and out.fault == 0  # a lost entry, not a pen fault
    hal.pressed = True
    assert not run(hal, app, 300)[1]
    hal.inject("adc_error")  # the fault's entries: lost too, each counted
    run(hal, app, 100)
    assert app.write_errors > 1


def test_entries_are_written_between_ticks_and_only_with_both_valves_closed():
    hal, app, flash = recording()
    run(hal, app, 100)
    hal.mode_down = True  # a new session: its record and state wait in the queue ...
    run(hal, app, 2010)
    hal.mode_down = False
    hal.pressed = True  # ... while a press opens the valves at once
    _, flowed = run(hal, app, 600)
    hal.pressed = False
    run(hal, app, 200)
    assert flowed
    kinds = [what for what, _ in flash.writes]
    assert kinds.count(journal.STATE) >= 3 and kinds.count(journal.RECORD) >= 2
    assert not any(open_ for _, open_ in flash.writes)


class Display:
    """A display that counts the slices of work it is given."""
    on = True
    error = ""

    def __init__(self):
        self.slices = 0

    def step(self, now_ms, pen):
        self.slices += 1


class Link:
    """The host link: pending, a request the next short press of mode confirms."""

    def __init__(self, pending=False):
        self.pending = pending
        self.served = []

    def confirm(self, now_ms):
        pending, self.pending = self.pending, False
        return pending

    def serve(self, deadline_ms):
        self.served.append(deadline_ms)


class Clinic:
    """A refused configuration (bits); the restore gesture, here any reset press,
    restores the bits in `restores`."""

    def __init__(self, bits, restores):
        self.bits = bits
        self.restores = restores

    def refused(self):
        return self.bits

    def watch(self, now_ms, mode_down, reset, pen):
        if reset:
            self.bits &= ~self.restores
        return reset


def bits_seen(app):
    """The condition bits the shell hands the pen, tick by tick."""
    seen = []
    tick = app.pen.tick

    def spy(now_ms, raw, raw2, trigger, hw_bits):
        seen.append(hw_bits)
        return tick(now_ms, raw, raw2, trigger, hw_bits)

    app.pen.tick = spy
    return seen


def test_a_short_press_that_confirms_a_host_request_does_nothing_else():
    hal = FakeHal(board, Tip())
    pen = pen_mod.build(board, profiles.builtin("aftercare"))
    link = Link(pending=True)
    app = App(hal, pen, link=link)
    pen.offer((profiles.builtin("aftercare"), profiles.builtin("short")), 0)
    run(hal, app, 100)
    for confirms in (True, False):
        hal.mode_down = True
        run(hal, app, 100)
        hal.mode_down = False
        run(hal, app, 100)
        assert pen.profile.name == ("aftercare" if confirms else "short")
        assert not link.pending


def test_the_loop_serves_the_link_up_to_each_tick_s_deadline():
    hal, app = shell()
    app.link = Link()
    ticks = []

    def step():
        if len(ticks) == 5:
            raise Stop()
        ticks.append(hal.now_ms())

    app.step = step
    raises(Stop, app.run)
    assert app.link.served == [10, 20, 30, 40, 50]


def test_the_display_gets_a_slice_only_early_in_the_period_and_never_after_a_write():
    for late_ms, slices in ((0, 10), (3, 10), (4, 0)):
        hal, app = shell()
        app.display = Display()
        led = hal.led

        def slow_led(on):  # the tick itself takes late_ms
            led(on)
            hal.advance(late_ms)

        hal.led = slow_led
        run(hal, app, 100)
        assert app.display.slices == slices, late_ms
    hal, app, flash = recording()
    app.display = Display()
    run(hal, app, 100)
    assert 0 < app.display.slices == 10 - len(flash.writes)


def test_while_the_configuration_is_refused_the_hal_s_conditions_still_reach_the_pen():
    hal, app = shell()
    app.clinic = Clinic(alarms.F_CONFIG, 0)
    seen = bits_seen(app)
    hal.inject("adc_error")
    run(hal, app, 20)
    assert seen == [alarms.F_CONFIG | alarms.F_ADC] * 2


def test_the_restore_gesture_lifts_what_it_restored_on_that_tick_and_nothing_else():
    hal, app = shell()
    app.clinic = Clinic(alarms.F_CONFIG | alarms.F_CALIBRATION, alarms.F_CONFIG)
    seen = bits_seen(app)
    hal.inject("low_battery")
    run(hal, app, 100)
    hal.reset_pending = True
    out, _ = run(hal, app, 20)
    assert seen[-3:] == [alarms.F_CONFIG | alarms.F_CALIBRATION | alarms.F_LOW_BATTERY,
                         alarms.F_CALIBRATION | alarms.F_LOW_BATTERY,
                         alarms.F_CALIBRATION | alarms.F_LOW_BATTERY]
    assert out.beep != signals.BEEP_REFUSED  # the gesture took the press: no reset refused
