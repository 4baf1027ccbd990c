"""The device HAL and boot sequence on both reference boards, against the
hand-written `machine` fake (tests/host/machine_fake.py)."""
import dis
import sys
from pathlib import Path
import types

import pytest

from tests.host import machine_fake as mf
from boards.esp32s3_devkit import board as esp32s3
from boards.rp2040_pico import board as pico
from firmware import alarms, limits, states, thermistor
from firmware import pen as pen_mod
from hal import boot as boot_mod
from hal.machine_hal import SELFTEST_MS, SELFTEST_WAIT_MS, MachineHal

PORTS = {pico: "rp2", esp32s3: "esp32"}


@pytest.fixture(params=[pico, esp32s3], ids=["rp2040_pico", "esp32s3_devkit"])
def board(request):
    mf.reset(PORTS[request.param])
    return request.param


def make_hal(board):
    """A HAL on the fake device: a warm tip and a charged cell unless the test set them."""
    if board.THERMISTOR_PIN not in mf._readings:
        set_tip(board, 2000)
    if board.BATTERY_PIN not in mf._readings:
        set_battery(board, 3900)
    return MachineHal(board, mf, mf.clock)


def adc_value(board, pin_mv):
    """What the fake converter returns for a voltage at the pin."""
    if board.ADC_READS_UV:
        return pin_mv * 1000
    return pin_mv * 65535 // board.ADC_REF_MV


def set_tip(board, cc):
    raw = thermistor.from_board(board).raw_for(cc)
    mf.set_adc(board.THERMISTOR_PIN, adc_value(board, raw * board.ADC_REF_MV // 65535))


def set_battery(board, mv):
    mf.set_adc(board.BATTERY_PIN, adc_value(board, mv // board.BATTERY_DIVIDER))


def valve_pins(board):
    return [p for p in (board.VALVE_PIN, board.MASTER_VALVE_PIN) if p is not None]


def any_valve_driven(board):
    return any(mf.driven(p) for p in valve_pins(board))


# --- fail closed ---------------------------------------------------------------------
def test_valve_pins_are_driven_low_before_anything_else(board):
    make_hal(board)
    first = mf.log[:2 * len(valve_pins(board))]
    expected = []
    for p in valve_pins(board):
        expected += [("pin", p, 0), ("pin.init", p, mf.Pin.OUT, -1, 0)]
    assert first == expected
    assert not any_valve_driven(board)


def test_valve_pins_are_low_even_when_a_later_set_up_step_fails(board):
    broken = types.SimpleNamespace(**{k: getattr(board, k) for k in dir(board) if k.isupper()})
    broken.THERMISTOR_PIN = 0  # no ADC on GPIO 0 on either port
    with pytest.raises(ValueError):
        make_hal(broken)
    assert all(mf._pins[p].mode == mf.Pin.OUT and mf._pins[p].level == 0 for p in valve_pins(board))


# --- the backstop ----------------------------------------------------------------------
def test_opening_arms_a_one_shot_hard_timer_first_with_the_given_period(board):
    hal = make_hal(board)
    hal.master(True)
    mf.log.clear()
    hal.valve(True, 1234)
    t = mf.timer(board.BACKSTOP_TIMER_ID)
    assert (t.mode, t.period, t.hard) == (mf.Timer.ONE_SHOT, 1234, True)
    assert mf.log[0] == ("timer.init", board.BACKSTOP_TIMER_ID, mf.Timer.ONE_SHOT, 1234)
    assert mf.driven(board.VALVE_PIN)


def test_backstop_firing_closes_the_valve_pins_and_latches_a_condition(board):
    hal = make_hal(board)
    hal.master(True)
    hal.valve(True, 500)
    mf.clock.advance(499)
    assert mf.driven(board.VALVE_PIN)
    assert not hal.conditions() & alarms.F_BACKSTOP
    mf.clock.advance(1)
    assert not any_valve_driven(board)
    assert hal.conditions() & alarms.F_BACKSTOP
    hal.valve(True, 500)  # the loop still asking for the valve does not reopen it
    hal.master(True)
    assert not any_valve_driven(board)


def test_closing_disarms_the_backstop(board):
    hal = make_hal(board)
    hal.valve(True, 500)
    hal.valve(False, 0)
    mf.clock.advance(1000)
    assert mf.timer(board.BACKSTOP_TIMER_ID).fired == 0
    assert not hal.conditions() & alarms.F_BACKSTOP
    assert not mf.driven(board.VALVE_PIN)


def test_the_timer_is_rearmed_on_every_call_while_open_with_the_latest_period(board):
    hal = make_hal(board)
    hal.master(True)
    hal.valve(True, 500)
    hal.valve(True, 400)
    hal.valve(True, 300)
    assert [c[3] for c in mf.calls("timer.init")] == [500, 400, 300]
    mf.clock.advance(299)  # the loop stops after its last call
    assert mf.driven(board.VALVE_PIN)
    mf.clock.advance(1)
    assert not any_valve_driven(board)


# Opcodes that allocate on MicroPython (containers, strings, closures, *args).
_ALLOCATING = ("BUILD_", "FORMAT_", "LIST_", "SET_", "DICT_", "MAKE_FUNCTION", "CALL_FUNCTION_EX",
               "LOAD_CLOSURE", "IMPORT_")


def allocation_risks(func):
    code = func.__code__
    risks = [i.opname for i in dis.get_instructions(func) if i.opname.startswith(_ALLOCATING)]
    risks += [i.argrepr for i in dis.get_instructions(func)
              if i.opname == "BINARY_OP" and i.argrepr in ("/", "/=", "**", "**=")]
    consts = code.co_consts[1:] if func.__doc__ else code.co_consts
    risks += [repr(c) for c in consts if not (c is None or isinstance(c, int))]
    return risks


def test_backstop_handler_is_built_once_and_allocates_nothing(board):
    hal = make_hal(board)
    hal.valve(True, 500)
    first = mf.timer(board.BACKSTOP_TIMER_ID).callback
    hal.valve(False, 0)
    hal.valve(True, 500)
    assert mf.timer(board.BACKSTOP_TIMER_ID).callback is first
    assert first.__func__ is MachineHal._on_backstop
    assert allocation_risks(MachineHal._on_backstop) == []
    # What it writes through are methods bound once at construction.
    assert hal._valve_write.__self__ in (hal._valve_pin, mf.pwm_of(board.VALVE_PIN))


def test_allocation_check_catches_a_handler_that_would_allocate():
    def bad(self, t):
        self.log = [t, 1.5, "x"]

    assert {"BUILD_LIST", "1.5", "'x'"} <= set(allocation_risks(bad))


def test_selftest_fires_the_backstop_with_the_valve_closed(board):
    hal = make_hal(board)
    assert hal.backstop_selftest() is True
    assert mf.calls("timer.init") == [("timer.init", board.BACKSTOP_TIMER_ID, mf.Timer.ONE_SHOT,
                                       SELFTEST_MS)]
    assert mf.timer(board.BACKSTOP_TIMER_ID).fired == 1
    assert all(level == 0 for kind, pin, level in mf.calls("pin") if pin in valve_pins(board))
    assert hal.conditions() & alarms.F_BACKSTOP == 0
    hal.valve(True, 500)  # a passed self-test leaves the valve usable
    assert mf.driven(board.VALVE_PIN)


def test_a_dead_backstop_fails_the_selftest_within_its_bound_and_locks_the_valve(board, monkeypatch):
    hal = make_hal(board)
    monkeypatch.setattr(mf.Timer, "_due", lambda self, now: None)  # the interrupt never comes
    start = mf.clock.t
    assert hal.backstop_selftest() is False
    assert mf.clock.t - start <= SELFTEST_WAIT_MS + 1
    assert hal.conditions() & alarms.F_BACKSTOP
    hal.valve(True, 500)
    hal.master(True)
    assert not any_valve_driven(board)


# --- valve drive -------------------------------------------------------------------------
def test_pico_hits_then_holds_the_valve_with_pwm():
    mf.reset("rp2")
    hal = make_hal(pico)
    pwm = mf.pwm_of(pico.VALVE_PIN)
    assert pwm.hz == pico.VALVE_PWM_HZ
    hal.valve(True, 5000)
    assert pwm.duty == 65535
    mf.clock.advance(pico.VALVE_HIT_MS - 1)
    hal.valve(True, 5000)
    assert pwm.duty == 65535
    mf.clock.advance(1)
    hal.valve(True, 5000)
    assert pwm.duty == pico.VALVE_HOLD_DUTY
    hal.valve(False, 0)
    assert pwm.duty == 0


def test_esp32s3_drives_two_valves_in_series_on_plain_pins():
    mf.reset("esp32")
    hal = make_hal(esp32s3)
    hal.master(True)
    hal.valve(True, 5000)
    assert mf.driven(esp32s3.VALVE_PIN) and mf.driven(esp32s3.MASTER_VALVE_PIN)
    hal.close_valves()
    assert not mf.driven(esp32s3.VALVE_PIN) and not mf.driven(esp32s3.MASTER_VALVE_PIN)
    assert mf.timer(esp32s3.BACKSTOP_TIMER_ID).deadline is None


def test_master_is_a_no_op_without_a_master_valve():
    mf.reset("rp2")
    hal = make_hal(pico)
    mf.log.clear()
    hal.master(True)
    assert mf.log == []


# --- watchdog and reset cause ------------------------------------------------------------
def test_watchdog_starts_with_the_board_timeout_and_is_fed(board):
    hal = make_hal(board)
    hal.feed_watchdog()  # before start: nothing to feed, nothing started
    assert mf.wdt is None
    assert limits.WDT_MIN_MS <= board.WDT_MS <= limits.WDT_MAX_MS
    hal.start_watchdog(board.WDT_MS)
    assert mf.wdt.timeout == board.WDT_MS
    hal.feed_watchdog()
    assert mf.wdt.feeds == 1
    mf.clock.advance(board.WDT_MS + 1)
    assert mf.wdt_expired


@pytest.mark.parametrize("ms", [limits.WDT_MIN_MS - 1, limits.WDT_MAX_MS + 1])
def test_watchdog_timeout_outside_the_limits_is_refused(board, ms):
    hal = make_hal(board)
    with pytest.raises(ValueError, match="watchdog timeout"):
        hal.start_watchdog(ms)
    assert mf.wdt is None


@pytest.mark.parametrize("cause, expected", [(mf.WDT_RESET, True), (mf.PWRON_RESET, False),
                                             (mf.SOFT_RESET, False)])
def test_reset_cause(board, cause, expected):
    mf.reset(PORTS[board], reset_cause_=cause)
    assert make_hal(board).reset_cause_watchdog() is expected


# --- switches ------------------------------------------------------------------------------
def test_trigger_is_debounced_over_ticks(board):
    hal = make_hal(board)
    pin = board.TRIGGER_PIN
    assert mf._pins[pin].pull == mf.Pin.PULL_UP
    mf.set_input(pin, 0)
    assert [hal.trigger() for _ in range(3)] == [False, False, True]
    mf.set_input(pin, 1)  # one bouncing sample does not release it
    assert hal.trigger() is True
    mf.set_input(pin, 0)
    assert hal.trigger() is True
    mf.set_input(pin, 1)
    assert [hal.trigger() for _ in range(3)] == [True, True, False]


def test_reset_button_reports_one_edge_per_press(board):
    hal = make_hal(board)
    mf.set_input(board.RESET_PIN, 0)
    assert [hal.reset_pressed() for _ in range(6)] == [False, False, True, False, False, False]
    mf.set_input(board.RESET_PIN, 1)
    assert [hal.reset_pressed() for _ in range(3)] == [False, False, False]
    mf.set_input(board.RESET_PIN, 0)
    assert [hal.reset_pressed() for _ in range(3)] == [False, False, True]


# --- analogue inputs -------------------------------------------------------------------------
def test_tip_reading_is_the_mean_of_the_oversampled_conversions(board):
    hal = make_hal(board)
    mv = (1000, 1010, 1020, 1030)  # a noisy 1.015 V; ADC_SAMPLES is a multiple of 4
    mf.set_adc(board.THERMISTOR_PIN, *[adc_value(board, v) for v in mv])
    raw = hal.read_tip()
    assert len(mf.calls("adc")) == board.ADC_SAMPLES
    assert abs(raw - 1015 * 65535 // board.ADC_REF_MV) <= 16  # within 16 counts of 65535
    assert hal.conditions() & alarms.F_ADC == 0


def test_esp32s3_microvolts_are_scaled_to_16_bits_of_the_reference():
    mf.reset("esp32")
    hal = make_hal(esp32s3)
    mf.set_adc(esp32s3.THERMISTOR_PIN, esp32s3.ADC_REF_MV * 500)  # half the reference
    assert abs(hal.read_tip() - 32767) <= 8
    mf.set_adc(esp32s3.THERMISTOR_PIN, 3100000)  # above the reference: open thermistor
    assert hal.read_tip() == 65535


def test_converter_error_reads_minus_one_and_raises_the_adc_condition(board):
    hal = make_hal(board)
    set_battery(board, 3900)
    mf.set_adc(board.THERMISTOR_PIN, OSError(5))
    assert hal.read_tip() == -1
    assert hal.conditions() & alarms.F_ADC
    set_tip(board, 2000)
    assert hal.read_tip() > 0
    assert hal.conditions() & alarms.F_ADC == 0


def test_battery_low_has_hysteresis(board):
    hal = make_hal(board)
    steps = [(3900, False), (3300, True), (3450, True), (3550, False), (3450, False),
             (3350, True)]
    for mv, low in steps:
        set_battery(board, mv)
        assert bool(hal.conditions() & alarms.F_LOW_BATTERY) is low, mv


def test_battery_converter_error_raises_the_adc_condition(board):
    hal = make_hal(board)
    mf.set_adc(board.BATTERY_PIN, OSError(5))
    assert hal.conditions() & alarms.F_ADC


# --- buzzer and LED ---------------------------------------------------------------------------
def test_tone_sets_frequency_and_duty_and_zero_silences(board):
    hal = make_hal(board)
    buzzer = mf.pwm_of(board.BUZZER_PIN)
    assert buzzer.duty == 0
    hal.tone(880)
    assert (buzzer.hz, buzzer.duty) == (880, 32768)
    mf.log.clear()
    hal.tone(880)  # unchanged: no writes every tick
    assert mf.log == []
    hal.tone(0)
    assert buzzer.duty == 0


def test_led(board):
    hal = make_hal(board)
    hal.led(True)
    assert mf.driven(board.LED_PIN)
    hal.led(False)
    assert not mf.driven(board.LED_PIN)


# --- boot ---------------------------------------------------------------------------------------
def ready_device(board, cause=mf.PWRON_RESET):
    mf.reset(PORTS[board], reset_cause_=cause)
    set_tip(board, 2000)
    set_battery(board, 3900)


def run_boot(board, stop_ms):
    mf.clock.interrupt_at = stop_ms
    with pytest.raises(KeyboardInterrupt):
        boot_mod.boot(board, mf, mf.clock, mf.micropython)


def first(kind):
    return next(i for i, entry in enumerate(mf.log) if entry[0] == kind)


def test_boot_order(board):
    ready_device(board)
    run_boot(board, 300)
    order = [first("pin"), first("emergency_buf"), first("reset_cause"), first("timer.init"),
             first("wdt.start"), first("wdt.feed")]
    assert order == sorted(order)
    assert mf.log[0] == ("pin", board.VALVE_PIN, 0)
    assert mf.micropython.emergency_buf == 100
    assert mf.log[first("timer.init")][3] == SELFTEST_MS
    assert mf.wdt.timeout == board.WDT_MS
    assert mf.wdt.feeds >= 20  # the 100 Hz loop ran and fed it
    assert not mf.wdt_expired


def test_ctrl_c_during_an_application_closes_the_valves(board):
    ready_device(board)
    seen = {}
    mf.clock.at(200, lambda: mf.set_input(board.TRIGGER_PIN, 0))
    mf.clock.at(495, lambda: seen.update(open=mf.driven(board.VALVE_PIN)))
    run_boot(board, 500)
    assert seen["open"]  # the valve was open when Ctrl-C came
    assert not any_valve_driven(board)
    assert mf.timer(board.BACKSTOP_TIMER_ID).deadline is None


@pytest.mark.parametrize("cause, dead_backstop, fault", [
    (mf.WDT_RESET, False, alarms.F_WATCHDOG),
    (mf.PWRON_RESET, True, alarms.F_BACKSTOP),
])
def test_boot_latches_a_watchdog_reset_or_a_failed_selftest(board, mocker, monkeypatch, cause,
                                                            dead_backstop, fault):
    ready_device(board, cause)
    if dead_backstop:
        monkeypatch.setattr(mf.Timer, "_due", lambda self, now: None)
    build = mocker.spy(pen_mod, "build")
    mf.clock.at(200, lambda: mf.set_input(board.TRIGGER_PIN, 0))
    run_boot(board, 2 * board.WDT_MS)
    pen = build.spy_return
    assert pen.state == states.FAULT
    assert pen.sup.fault & fault
    assert not mf.wdt_expired  # a pen in FAULT still feeds it: no reset loop
    writes = mf.calls("pin") + mf.calls("pwm.duty")
    assert all(level == 0 for _, pin, level in writes if pin in valve_pins(board))  # never opened


def test_boot_uses_the_default_profile_when_the_board_names_none(mocker):
    ready_device(pico)
    bare = types.SimpleNamespace(**{k: getattr(pico, k) for k in dir(pico) if k.isupper()})
    del bare.DEFAULT_PROFILE
    build = mocker.spy(pen_mod, "build")
    run_boot(bare, 100)
    assert build.spy_return.profile.name == "moderate"


# --- the fake itself -------------------------------------------------------------------------------
def test_the_fake_rejects_what_the_ports_reject():
    mf.reset("rp2")
    with pytest.raises(TypeError):
        mf.Pin(3, mf.Pin.OUT, valu=0)  # misspelt keyword
    with pytest.raises(AttributeError):
        mf.Timer(-1).start()  # no such method
    with pytest.raises(ValueError):
        mf.Timer(0)  # rp2 has virtual timers only
    with pytest.raises(TypeError):
        mf.ADC(mf.Pin(26), atten=3)  # no attenuation on rp2
    with pytest.raises(AttributeError):
        mf.ADC(mf.Pin(26)).read_uv()  # esp32 only
    with pytest.raises(ValueError):
        mf.WDT(timeout=9000)  # above the RP2040 maximum
    with pytest.raises(ValueError):
        mf.Pin(3, mf.Pin.IN).value(1)  # writing an input


def test_reset_held_at_power_up_is_service_mode_valves_closed_and_no_watchdog(board):
    ready_device(board)
    mf.set_input(board.RESET_PIN, 0)
    boot_mod.boot(board, mf, mf.clock, mf.micropython)  # returns: the REPL is free
    assert mf.wdt is None
    assert not any_valve_driven(board)
    assert mf.log[0] == ("pin", board.VALVE_PIN, 0)


def test_board_boot_script_drives_the_valve_pins_low_first(board, monkeypatch):
    ready_device(board)
    monkeypatch.setitem(sys.modules, "machine", mf)
    script = Path(board.__file__).with_name("boot.py")
    exec(compile(script.read_text(), str(script), "exec"), {})
    expected = []
    for p in valve_pins(board):
        expected += [("pin", p, 0), ("pin.init", p, mf.Pin.OUT, -1, 0)]
    assert mf.log == expected
