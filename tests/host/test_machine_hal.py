"""The device HAL and boot sequence on both reference boards, each against the
`machine` fake of its own port (tests/host/machine_rp2.py, machine_esp32.py),
which refuses what that port refuses and models its board's monostable."""
import dis
import sys
import types
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from boards.esp32s3_devkit import board as esp32s3
from boards.rp2040_pico import board as pico
from firmware import alarms, limits, states, thermistor
from firmware import pen as pen_mod
from hal import boot as boot_mod
from hal.machine_hal import SELFTEST_MS, SELFTEST_WAIT_MS, MachineHal
from tests.host import machine_esp32, machine_fake, machine_rp2

PORTS = {pico: machine_rp2, esp32s3: machine_esp32}


def dev():
    """The chip the current test powered on."""
    return machine_fake.device


@pytest.fixture(params=[pico, esp32s3], ids=["rp2040_pico", "esp32s3_devkit"])
def board(request):
    PORTS[request.param].power_on(request.param)
    return request.param


def port(board):
    """The `machine` stand-in of the chip powered on (board may be a stand-in too)."""
    return dev().port


def make_hal(board):
    """A HAL on the fake chip: warm tips, a good reference and a charged cell unless set."""
    readings = dev().readings
    if board.THERMISTOR_PIN not in readings:
        set_tip(board, 2000)
    if board.THERMISTOR2_PIN not in readings:
        set_tip(board, 2000, second=True)
    if board.BATTERY_PIN not in readings:
        set_battery(board, 3900)
    if board.ADC_REF_PIN is not None and board.ADC_REF_PIN not in readings:
        dev().set_adc(board.ADC_REF_PIN, board.ADC_REF_MV * 1000)
    return MachineHal(board, port(board), dev().clock)


def adc_value(board, pin_mv, ref_mv=None):
    """What the fake converter returns for a voltage at the pin."""
    if board.ADC_READS_UV:
        return pin_mv * 1000
    return pin_mv * 65535 // (ref_mv or board.ADC_REF_MV)


def set_tip(board, cc, second=False):
    raw = thermistor.from_board(board, second).raw_for(cc)
    pin = board.THERMISTOR2_PIN if second else board.THERMISTOR_PIN
    dev().set_adc(pin, adc_value(board, raw * board.ADC_REF_MV // 65535))


def set_battery(board, mv):
    dev().set_adc(board.BATTERY_PIN, adc_value(board, mv // board.BATTERY_DIVIDER))


def valve_pins(board):
    return [board.VALVE_PIN, board.MASTER_VALVE_PIN]


def any_valve_driven(board):
    return any(dev().driven(p) for p in valve_pins(board))


def tick(hal, valve=True, master=True, backstop_ms=500):
    """The HAL calls of one App.step with the valves commanded, then the rest of the tick."""
    hal.valve(valve, backstop_ms)
    hal.master(master)
    dev().clock.advance(limits.TICK_MS)


# --- fail closed ---------------------------------------------------------------------
def test_valve_pins_are_driven_low_before_anything_else(board):
    make_hal(board)
    out = port(board).Pin.OUT
    assert dev().log[:2] == [("pin.init", p, out, 0) for p in valve_pins(board)]
    assert not any_valve_driven(board)


def test_valve_pins_are_low_even_when_a_later_set_up_step_fails(board):
    broken = types.SimpleNamespace(**{k: getattr(board, k) for k in dir(board) if k.isupper()})
    broken.THERMISTOR2_PIN = 0  # no ADC on GPIO 0 on either port
    with pytest.raises(ValueError):
        make_hal(broken)
    pins = dev().pins
    assert all(pins[p].output and pins[p].latch == 0 for p in valve_pins(board))


def test_keepalive_idles_low_and_the_enable_sense_is_pulled_down(board):
    make_hal(board)
    m = port(board)
    keepalive, sense = dev().pins[board.KEEPALIVE_PIN], dev().pins[board.ENABLE_SENSE_PIN]
    assert keepalive.output and keepalive.latch == 0
    assert (sense.mode, sense.pull) == (m.Pin.IN, m.Pin.PULL_DOWN)
    assert dev().monostable.edges == 0


# --- the backstop timer ------------------------------------------------------------------
def test_opening_arms_a_one_shot_timer_first_hard_only_where_the_port_has_it(board):
    hal = make_hal(board)
    hal.master(True)
    dev().log.clear()
    hal.valve(True, 1234)
    t = dev().timer(board.BACKSTOP_TIMER_ID)
    assert (t.mode, t.period_us, t.hard) == (port(board).Timer.ONE_SHOT, 1234000,
                                             board.BACKSTOP_TIMER_HARD)
    assert dev().log[0] == ("timer.init", board.BACKSTOP_TIMER_ID, port(board).Timer.ONE_SHOT, 1234)
    assert dev().gas_flows()


def test_backstop_firing_closes_the_valve_pins_and_latches_a_condition(board):
    hal = make_hal(board)
    for _ in range(3):
        tick(hal, backstop_ms=500)
    hal.valve(True, 500)
    hal.master(True)
    dev().clock.advance(30)  # Python keeps running (no tick): the soft callback runs too
    assert dev().driven(board.VALVE_PIN)
    assert not hal.conditions() & alarms.F_BACKSTOP
    dev().clock.advance(470)
    assert not any_valve_driven(board)
    assert hal.conditions() & alarms.F_BACKSTOP
    hal.valve(True, 500)  # the loop still asking for the valves does not reopen them
    hal.master(True)
    assert not any_valve_driven(board)


def test_closing_disarms_the_backstop(board):
    hal = make_hal(board)
    hal.valve(True, 500)
    hal.valve(False, 0)
    dev().clock.advance(1000)
    assert dev().timer(board.BACKSTOP_TIMER_ID).fired == 0
    assert not hal.conditions() & alarms.F_BACKSTOP
    assert not dev().driven(board.VALVE_PIN)


def test_the_timer_is_rearmed_on_every_call_while_open_with_the_latest_period(board):
    hal = make_hal(board)
    hal.valve(True, 500)
    hal.valve(True, 400)
    hal.valve(True, 300)
    assert [c[3] for c in dev().calls("timer.init")] == [500, 400, 300]
    dev().clock.advance(299)  # the loop stops after its last call
    assert dev().driven(board.VALVE_PIN)
    dev().clock.advance(1)
    assert not any_valve_driven(board)


def test_only_the_rp2_timer_closes_the_valve_during_a_hang_in_c(board):
    """A hang inside a C call: rp2's hard callback still runs on time; esp32's is
    only queued, and the monostable is what stops the gas there."""
    hal = make_hal(board)
    tick(hal, backstop_ms=100)
    dev().clock.hang(150, "c")
    assert dev().driven(board.VALVE_PIN) is (not board.BACKSTOP_TIMER_HARD)
    assert not dev().gas_flows()  # the second valve closed within ENABLE_HOLD_MS either way
    dev().clock.sleep_ms(1)  # the VM checks for pending work: esp32's callback runs now
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
    risks += [repr(c) for c in consts if not (c is None or isinstance(c, int) or keyword_names(c))]
    return risks


def keyword_names(const):
    """CPython keeps a call's keyword names as a tuple constant; MicroPython's
    bytecode names them by qstr, which allocates nothing."""
    return isinstance(const, tuple) and all(isinstance(n, str) and n.isidentifier() for n in const)


def test_backstop_handler_is_built_once_and_allocates_nothing(board):
    hal = make_hal(board)
    hal.valve(True, 500)
    first = dev().timer(board.BACKSTOP_TIMER_ID).callback
    hal.valve(False, 0)
    hal.valve(True, 500)
    assert dev().timer(board.BACKSTOP_TIMER_ID).callback is first
    assert first.__func__ is MachineHal._on_backstop
    assert allocation_risks(MachineHal._on_backstop) == []
    # What it writes through are methods bound once at construction.
    assert hal._valve_write.__self__ in (hal._valve_pin, dev().pwm_of(board.VALVE_PIN))
    assert hal._master_write.__self__ is hal._master_pin


def test_the_per_tick_valve_paths_allocate_nothing():
    for method in (MachineHal.master, MachineHal._master_off, MachineHal._enable_lost,
                   MachineHal.valve, MachineHal._arm, MachineHal._close_main):
        assert allocation_risks(method) == [], method.__name__


def test_allocation_check_catches_a_handler_that_would_allocate():
    def bad(self, t):
        self.log = [t, 1.5, "x"]

    assert {"BUILD_LIST", "1.5", "'x'"} <= set(allocation_risks(bad))


# --- the monostable --------------------------------------------------------------------------
def test_master_toggles_the_keepalive_each_call_and_q_enables_the_second_valve(board):
    hal = make_hal(board)
    keepalive = []
    for _ in range(6):
        tick(hal)
        keepalive.append(dev().pins[board.KEEPALIVE_PIN].latch)
        assert dev().master_open() and dev().gas_flows()
    assert keepalive == [1, 0, 1, 0, 1, 0]
    assert dev().monostable.edges == 3  # a rising edge every second tick
    assert hal.conditions() & alarms.F_BACKSTOP == 0


@pytest.mark.parametrize("where", ["python", "c", "irq_off"])
def test_keepalive_expiry_stops_the_gas_and_sets_f_backstop(board, where):
    hal = make_hal(board)
    for _ in range(4):
        tick(hal, backstop_ms=5000)
    last_edge = dev().monostable.until - dev().monostable.hold_us
    dev().clock.hang(60, where)  # the loop stops, whatever stops it
    assert not dev().master_open()
    assert dev().monostable.until - last_edge == board.ENABLE_HOLD_MS * 1000  # closed in time
    tick(hal, backstop_ms=5000)  # the loop comes back: Q is low before it toggles
    assert hal.enable_expired == 1
    assert hal.conditions() & alarms.F_BACKSTOP
    assert not any_valve_driven(board)
    tick(hal, backstop_ms=5000)  # and it stays closed
    assert not any_valve_driven(board) and not dev().gas_flows()


def test_a_pause_shorter_than_the_hold_less_one_edge_does_not_trip(board):
    hal = make_hal(board)
    for _ in range(3):
        tick(hal, backstop_ms=5000)
    # The worst case: the last call was a falling edge, 10 ms after the last rising one.
    dev().clock.advance(board.ENABLE_HOLD_MIN_MS - 2 * limits.TICK_MS - 1)
    tick(hal, backstop_ms=5000)
    assert hal.conditions() & alarms.F_BACKSTOP == 0
    assert dev().gas_flows()


def test_closing_the_master_leaves_the_keepalive_idle_low_and_reopening_starts_with_an_edge(board):
    hal = make_hal(board)
    tick(hal)
    tick(hal)
    tick(hal, valve=False, master=False)
    assert dev().pins[board.KEEPALIVE_PIN].latch == 0
    assert not dev().driven(board.MASTER_VALVE_PIN)
    dev().clock.advance(200)  # Q ran out while the master was off: no fault
    edges = dev().monostable.edges
    tick(hal)
    assert dev().monostable.edges == edges + 1 and dev().gas_flows()
    assert hal.conditions() & alarms.F_BACKSTOP == 0


def test_a_dead_monostable_keeps_the_second_valve_closed_and_reports_it(board):
    hal = make_hal(board)
    dev().faults.add("monostable_dead")
    tick(hal)
    assert not dev().master_open() and not dev().gas_flows()
    assert not dev().driven(board.MASTER_VALVE_PIN)
    assert hal.conditions() & alarms.F_BACKSTOP


# --- the boot self-test -------------------------------------------------------------------------
def test_selftest_fires_the_backstop_with_the_valve_closed(board):
    hal = make_hal(board)
    dev().log.clear()
    assert hal.backstop_selftest() is True
    assert dev().calls("timer.init") == [("timer.init", board.BACKSTOP_TIMER_ID,
                                          port(board).Timer.ONE_SHOT, SELFTEST_MS)]
    assert dev().timer(board.BACKSTOP_TIMER_ID).fired == 1
    assert all(level == 0 for _, pin, level in dev().calls("pin") if pin in valve_pins(board))
    assert hal.conditions() & alarms.F_BACKSTOP == 0
    tick(hal)  # a passed self-test leaves both valves usable
    assert dev().gas_flows()


def test_selftest_proves_the_monostable_falls_while_the_cpu_waits_in_c_with_irqs_masked(board):
    hal = make_hal(board)
    dev().log.clear()
    assert hal.backstop_selftest() is True
    kinds = [e[0] for e in dev().log]
    masked = kinds[kinds.index("disable_irq"):kinds.index("enable_irq") + 1]
    assert masked == ["disable_irq", "time_pulse_us", "enable_irq"]  # nothing else ran meanwhile
    _, pin, level, timeout_us, held = dev().calls("time_pulse_us")[0]
    assert (pin, level) == (board.ENABLE_SENSE_PIN, 1)
    assert held == hal.enable_hold_us == board.ENABLE_HOLD_MS * 1000 < timeout_us
    assert kinds.index("time_pulse_us") > kinds.index("timer.fire")
    assert dev().monostable.edges == 1
    assert not dev().irq_masked


def test_selftest_fails_when_the_monostable_never_falls(board):
    selftest_fails_on(board, "monostable_stuck_high")


def test_selftest_fails_when_the_monostable_gives_no_enable(board):
    selftest_fails_on(board, "monostable_dead")


def selftest_fails_on(board, fault):
    hal = make_hal(board)
    dev().faults.add(fault)
    assert hal.backstop_selftest() is False
    assert hal.conditions() & alarms.F_BACKSTOP
    tick(hal)
    assert not any_valve_driven(board)
    assert not dev().irq_masked


@pytest.mark.parametrize("hold_ms, ok", [(25, False), (30, True), (40, True), (41, False), (80, False)])
def test_selftest_measures_the_hold_and_refuses_one_out_of_bounds(board, hold_ms, ok):
    hal = make_hal(board)
    dev().monostable.hold_us = hold_ms * 1000
    assert hal.backstop_selftest() is ok
    assert bool(hal.conditions() & alarms.F_BACKSTOP) is not ok


def test_a_dead_backstop_fails_the_selftest_within_its_bound_and_locks_the_valve(board):
    hal = make_hal(board)
    dev().faults.add("timer_dead")  # the interrupt never comes
    start = dev().clock.t
    assert hal.backstop_selftest() is False
    assert dev().clock.t - start <= SELFTEST_WAIT_MS + 1
    assert hal.conditions() & alarms.F_BACKSTOP
    tick(hal)
    assert not any_valve_driven(board)


# --- valve drive -------------------------------------------------------------------------
def test_pico_hits_then_holds_the_valve_with_pwm():
    machine_rp2.power_on(pico)
    hal = make_hal(pico)
    pwm = dev().pwm_of(pico.VALVE_PIN)
    assert pwm.hz == pico.VALVE_PWM_HZ
    hal.valve(True, 5000)
    assert pwm.duty == 65535
    dev().clock.advance(pico.VALVE_HIT_MS - 1)
    hal.valve(True, 5000)
    assert pwm.duty == 65535
    dev().clock.advance(1)
    hal.valve(True, 5000)
    assert pwm.duty == pico.VALVE_HOLD_DUTY
    hal.valve(False, 0)
    assert pwm.duty == 0


def test_a_tone_never_changes_the_pico_valve_pwm_frequency():
    machine_rp2.power_on(pico)
    hal = make_hal(pico)
    hal.tone(440)
    assert dev().pwm_of(pico.VALVE_PIN).hz == pico.VALVE_PWM_HZ  # another PWM slice


def test_both_valves_are_driven_on_plain_pins_or_pwm_and_close_together(board):
    hal = make_hal(board)
    tick(hal, backstop_ms=5000)
    assert dev().driven(board.VALVE_PIN) and dev().driven(board.MASTER_VALVE_PIN)
    hal.close_valves()
    assert not any_valve_driven(board)
    assert dev().timer(board.BACKSTOP_TIMER_ID).deadline is None
    assert dev().pins[board.KEEPALIVE_PIN].latch == 0


# --- watchdog and reset cause ------------------------------------------------------------
def test_watchdog_starts_with_the_board_timeout_and_is_fed(board):
    hal = make_hal(board)
    hal.feed_watchdog()  # before start: nothing to feed, nothing started
    assert dev().wdt is None
    assert limits.WDT_MIN_MS <= board.WDT_MS <= limits.WDT_MAX_MS
    hal.start_watchdog(board.WDT_MS)
    assert dev().wdt.timeout == board.WDT_MS
    hal.feed_watchdog()
    assert dev().wdt.feeds == 1
    dev().clock.advance(board.WDT_MS + 1)
    assert dev().wdt_expired and not any_valve_driven(board)


@pytest.mark.parametrize("ms", [limits.WDT_MIN_MS - 1, limits.WDT_MAX_MS + 1])
def test_watchdog_timeout_outside_the_limits_is_refused(board, ms):
    hal = make_hal(board)
    with pytest.raises(ValueError, match="watchdog timeout"):
        hal.start_watchdog(ms)
    assert dev().wdt is None


M = machine_rp2


@pytest.mark.parametrize("reason, scratch4, expected", [
    (M.REASON_TIMER, M.NON_REBOOT_MAGIC, True),  # our machine.WDT ran out
    (M.REASON_FORCE, 0, False),  # machine.reset(), mpremote reset
    (M.REASON_TIMER, 0, False),  # a watchdog_reboot with a delay: not our watchdog
    (M.REASON_FORCE, M.NON_REBOOT_MAGIC, False),  # a deliberate reset while ours ran
    (0, M.NON_REBOOT_MAGIC, False),  # power-on after a run: the magic is stale
    (0, 0, False),
])
def test_rp2_reset_cause_is_a_watchdog_timeout_only_with_the_marker(reason, scratch4, expected):
    scratch = [0] * 8
    scratch[4] = scratch4
    machine_rp2.power_on(pico, reason=reason, scratch=scratch)
    assert make_hal(pico).reset_cause_watchdog() is expected


def test_rp2_reset_cause_across_real_reboots():
    """Start the watchdog and starve it, or reset deliberately: only the first reads as one."""
    first = machine_rp2.power_on(pico)
    hal = make_hal(pico)
    assert hal.reset_cause_watchdog() is False
    hal.start_watchdog(pico.WDT_MS)
    first.clock.advance(pico.WDT_MS + 1)
    assert first.wdt_expired
    second = machine_rp2.reboot(first, pico)
    hal = make_hal(pico)
    assert machine_rp2.reset_cause() == machine_rp2.WDT_RESET
    assert hal.reset_cause_watchdog() is True
    hal.start_watchdog(pico.WDT_MS)
    with pytest.raises(machine_rp2.DeviceReset):
        machine_rp2.reset()  # mpremote reset, or the deploy's final reset
    machine_rp2.reboot(second, pico)
    hal = make_hal(pico)
    assert machine_rp2.reset_cause() == machine_rp2.WDT_RESET  # what the port alone says
    assert hal.reset_cause_watchdog() is False
    hal.start_watchdog(pico.WDT_MS)  # writes the magic again
    soft = machine_rp2.reboot(machine_fake.device, pico, "soft")
    assert soft.wdt is not None  # the watchdog survives a soft reset
    assert make_hal(pico).reset_cause_watchdog() is False  # REASON still says FORCE


@pytest.mark.parametrize("reason", sorted(machine_esp32.RESET_CAUSES))
def test_esp32_reset_cause_is_the_watchdog_only_after_a_watchdog_timeout(reason):
    machine_esp32.power_on(esp32s3, reason=reason)
    expected = reason in ("ESP_RST_INT_WDT", "ESP_RST_TASK_WDT", "ESP_RST_WDT")
    assert make_hal(esp32s3).reset_cause_watchdog() is expected


def test_esp32_reset_cause_across_real_reboots():
    first = machine_esp32.power_on(esp32s3)
    hal = make_hal(esp32s3)
    hal.start_watchdog(esp32s3.WDT_MS)
    first.clock.advance(esp32s3.WDT_MS + 1)
    second = machine_esp32.reboot(first, esp32s3)
    hal = make_hal(esp32s3)
    assert hal.reset_cause_watchdog() is True
    hal.start_watchdog(esp32s3.WDT_MS)
    with pytest.raises(machine_esp32.DeviceReset):
        machine_esp32.reset()
    machine_esp32.reboot(second, esp32s3)
    assert machine_esp32.reset_cause() == machine_esp32.HARD_RESET
    assert make_hal(esp32s3).reset_cause_watchdog() is False
    soft = machine_esp32.reboot(machine_fake.device, esp32s3, "soft")
    assert machine_esp32.reset_cause() == machine_esp32.SOFT_RESET and soft.wdt is None
    assert make_hal(esp32s3).reset_cause_watchdog() is False


# --- switches ------------------------------------------------------------------------------
def test_trigger_is_debounced_over_ticks(board):
    hal = make_hal(board)
    pin = board.TRIGGER_PIN
    assert dev().pins[pin].pull == port(board).Pin.PULL_UP
    dev().set_input(pin, 0)
    assert [hal.trigger() for _ in range(3)] == [False, False, True]
    dev().set_input(pin, 1)  # one bouncing sample does not release it
    assert hal.trigger() is True
    dev().set_input(pin, 0)
    assert hal.trigger() is True
    dev().set_input(pin, 1)
    assert [hal.trigger() for _ in range(3)] == [True, True, False]


def test_reset_button_reports_one_edge_per_press(board):
    hal = make_hal(board)
    dev().set_input(board.RESET_PIN, 0)
    assert [hal.reset_pressed() for _ in range(6)] == [False, False, True, False, False, False]
    dev().set_input(board.RESET_PIN, 1)
    assert [hal.reset_pressed() for _ in range(3)] == [False, False, False]
    dev().set_input(board.RESET_PIN, 0)
    assert [hal.reset_pressed() for _ in range(3)] == [False, False, True]


# --- analogue inputs -------------------------------------------------------------------------
@pytest.mark.parametrize("second", [False, True])
def test_tip_reading_is_the_mean_of_the_oversampled_conversions(board, second):
    hal = make_hal(board)
    mv = (1000, 1010, 1020, 1030)  # a noisy 1.015 V; ADC_SAMPLES is a multiple of 4
    pin = board.THERMISTOR2_PIN if second else board.THERMISTOR_PIN
    dev().set_adc(pin, *[adc_value(board, v) for v in mv])
    dev().log.clear()
    raw = hal.read_tip2() if second else hal.read_tip()
    assert [e for e in dev().calls("adc") if e[1] == pin] == [("adc", pin)] * board.ADC_SAMPLES
    assert abs(raw - 1015 * 65535 // board.ADC_REF_MV) <= 16  # within 16 counts of 65535
    assert hal.conditions() & alarms.F_ADC == 0


def test_the_two_tips_are_read_on_their_own_channels(board):
    hal = make_hal(board)
    set_tip(board, -5000)
    set_tip(board, 1000, second=True)
    t1, t2 = thermistor.from_board(board), thermistor.from_board(board, True)
    assert t1.read(hal.read_tip()) == thermistor.OK and t2.read(hal.read_tip2()) == thermistor.OK
    assert abs(t1.cc - -5000) < 60 and abs(t2.cc - 1000) < 60


def esp32_node_and_ref(ratio_num, ratio_den, ref_mv):
    return ref_mv * ratio_num // ratio_den * 1000, ref_mv * 1000


@pytest.mark.parametrize("ref_mv", [2450, 2500, 2550])
def test_esp32_reading_is_ratiometric_to_the_measured_reference(ref_mv):
    machine_esp32.power_on(esp32s3)
    node, ref = esp32_node_and_ref(2, 5, ref_mv)  # the divider halfway through its span
    dev().set_adc(esp32s3.THERMISTOR_PIN, node)
    dev().set_adc(esp32s3.THERMISTOR2_PIN, node)
    dev().set_adc(esp32s3.ADC_REF_PIN, ref)
    hal = make_hal(esp32s3)
    assert hal.read_tip() == hal.read_tip2() == 26212  # 2/5 of 65535, whatever the reference
    # Read against the nominal 2.5 V instead, the reference's error would stay in the
    # reading: 10 counts per millivolt here, 2 % at 2.45 V.
    absolute = node * 65535 // (esp32s3.ADC_REF_MV * 1000)
    assert abs(absolute - 26212) >= abs(ref_mv - 2500) * 10


@given(node_mv=st.integers(0, 3100), ref_mv=st.integers(2250, 2750))
def test_esp32_ratio_is_within_a_millivolt_and_every_intermediate_is_a_small_int(node_mv, ref_mv):
    machine_esp32.power_on(esp32s3)
    dev().set_adc(esp32s3.THERMISTOR_PIN, node_mv * 1000)
    dev().set_adc(esp32s3.ADC_REF_PIN, ref_mv * 1000)
    raw = make_hal(esp32s3).read_tip()
    exact = min(65535, node_mv * 65535 // ref_mv)
    assert 0 <= raw <= 65535
    assert abs(raw - exact) <= 65535 // ref_mv + 2  # one millivolt, the converter's step
    node, ref = node_mv * 10, ref_mv * 10  # in the HAL's 100 uV steps
    assert min(node, ref) * 32767 < 1 << 30 and esp32s3.ADC_SAMPLES * 3300000 < 1 << 30


@pytest.mark.parametrize("ref_mv", [0, 2200, 2800, 3300])
def test_esp32_implausible_reference_is_a_converter_error(ref_mv):
    machine_esp32.power_on(esp32s3)
    dev().set_adc(esp32s3.ADC_REF_PIN, ref_mv * 1000)
    hal = make_hal(esp32s3)
    assert hal.read_tip() == -1 and hal.read_tip2() == -1
    assert hal.conditions() & alarms.F_ADC


def test_esp32_open_thermistor_reads_full_scale():
    machine_esp32.power_on(esp32s3)
    dev().set_adc(esp32s3.THERMISTOR_PIN, 2501000)  # the node at the reference: no thermistor
    hal = make_hal(esp32s3)
    assert hal.read_tip() == 65535


@pytest.mark.parametrize("second", [False, True])
def test_esp32_converter_error_reads_minus_one_and_raises_the_adc_condition(second):
    machine_esp32.power_on(esp32s3)
    hal = make_hal(esp32s3)
    read = hal.read_tip2 if second else hal.read_tip
    pin = esp32s3.THERMISTOR2_PIN if second else esp32s3.THERMISTOR_PIN
    dev().set_adc(pin, OSError(116))  # check_esp_err: ESP_ERR_TIMEOUT
    assert read() == -1
    assert hal.conditions() & alarms.F_ADC
    set_tip(esp32s3, 2000, second)
    assert read() > 0
    assert hal.conditions() & alarms.F_ADC == 0


def test_battery_low_has_hysteresis(board):
    hal = make_hal(board)
    steps = [(3900, False), (3300, True), (3450, True), (3550, False), (3450, False),
             (3350, True)]
    for mv, low in steps:
        set_battery(board, mv)
        assert bool(hal.conditions() & alarms.F_LOW_BATTERY) is low, mv


def test_esp32_battery_converter_error_raises_the_adc_condition():
    machine_esp32.power_on(esp32s3)
    hal = make_hal(esp32s3)
    dev().set_adc(esp32s3.BATTERY_PIN, OSError(116))
    assert hal.conditions() & alarms.F_ADC
    set_battery(esp32s3, 3900)
    assert hal.conditions() & alarms.F_ADC == 0


# --- buzzer and LED ---------------------------------------------------------------------------
def test_tone_sets_frequency_and_duty_and_zero_silences(board):
    hal = make_hal(board)
    buzzer = dev().pwm_of(board.BUZZER_PIN)
    assert buzzer.duty == 0
    hal.tone(880)
    assert (buzzer.hz, buzzer.duty) == (880, 32768)
    dev().log.clear()
    hal.tone(880)  # unchanged: no writes every tick
    assert dev().log == []
    hal.tone(0)
    assert buzzer.duty == 0


def test_led(board):
    hal = make_hal(board)
    hal.led(True)
    assert dev().driven(board.LED_PIN)
    hal.led(False)
    assert not dev().driven(board.LED_PIN)


# --- boot ---------------------------------------------------------------------------------------
def ready_device(board, **regs):
    chip = PORTS[board].power_on(board, **regs)
    set_tip(board, 2000)
    set_tip(board, 2000, second=True)
    set_battery(board, 3900)
    if board.ADC_REF_PIN is not None:
        chip.set_adc(board.ADC_REF_PIN, board.ADC_REF_MV * 1000)
    return chip


def run_boot(board, stop_ms):
    """Boots on the fake chip until its clock reaches stop_ms, where sleep_ms raises
    KeyboardInterrupt (Ctrl-C from mpremote): App.run ends there."""
    dev().clock.interrupt_at = stop_ms
    with pytest.raises(KeyboardInterrupt):
        boot_mod.boot(board, port(board), dev().clock, dev().micropython, dev().select,
                      dev().sys)


def first(kind):
    return next(i for i, entry in enumerate(dev().log) if entry[0] == kind)


def test_boot_order(board):
    ready_device(board)
    run_boot(board, 400)
    order = [first("pin.init"), first("emergency_buf"), first("reset_cause"), first("timer.init"),
             first("disable_irq"), first("time_pulse_us"), first("enable_irq"), first("wdt.start"),
             first("wdt.feed")]
    assert order == sorted(order)
    assert dev().log[0] == ("pin.init", board.VALVE_PIN, port(board).Pin.OUT, 0)
    assert dev().micropython.emergency_buf == 100
    assert dev().log[first("timer.init")][3] == SELFTEST_MS
    assert dev().wdt.timeout == board.WDT_MS
    assert dev().wdt.feeds >= 20  # the 100 Hz loop ran and fed it
    assert not dev().wdt_expired


def test_ctrl_c_during_an_application_closes_the_valves(board):
    ready_device(board)
    seen = {}
    dev().at(300, lambda: dev().set_input(board.TRIGGER_PIN, 0))
    dev().at(595, lambda: seen.update(gas=dev().gas_flows()))
    run_boot(board, 600)
    assert seen["gas"]  # both valves were open when Ctrl-C came
    assert not any_valve_driven(board)
    assert dev().timer(board.BACKSTOP_TIMER_ID).deadline is None


def starve(board, chip):
    """Runs the firmware until its watchdog expires, then boots the chip again."""
    chip.at(200, lambda: chip.faults.add("timer_dead"))
    run_boot(board, 100)
    chip.clock.hang(board.WDT_MS + 10, "python")
    assert chip.wdt_expired
    fresh = PORTS[board].reboot(chip, board)
    set_tip(board, 2000)
    set_tip(board, 2000, second=True)
    set_battery(board, 3900)
    if board.ADC_REF_PIN is not None:
        fresh.set_adc(board.ADC_REF_PIN, board.ADC_REF_MV * 1000)


@pytest.mark.parametrize("cause", ["watchdog", "dead_timer", "stuck_monostable"])
def test_boot_latches_a_watchdog_reset_or_a_failed_selftest(board, mocker, cause):
    chip = ready_device(board)
    fault = alarms.F_WATCHDOG
    if cause == "watchdog":
        starve(board, chip)
    else:
        chip.faults.add("timer_dead" if cause == "dead_timer" else "monostable_stuck_high")
        fault = alarms.F_BACKSTOP
    build = mocker.spy(pen_mod, "build")
    dev().log.clear()
    dev().at(dev().clock.t + 200, lambda: dev().set_input(board.TRIGGER_PIN, 0))
    run_boot(board, dev().clock.t + 2 * board.WDT_MS)
    pen = build.spy_return
    assert pen.state == states.FAULT
    assert pen.sup.fault & fault
    assert not dev().wdt_expired  # a pen in FAULT still feeds it: no reset loop
    writes = dev().calls("pin") + dev().calls("pwm.duty")
    assert all(level == 0 for _, pin, level in writes if pin in valve_pins(board))  # never opened


def test_a_deliberate_rp2_reset_boots_without_a_watchdog_fault(mocker):
    chip = ready_device(pico)
    run_boot(pico, 200)  # the watchdog runs: its magic is in scratch[4]
    with pytest.raises(machine_rp2.DeviceReset):
        machine_rp2.reset()
    machine_rp2.reboot(chip, pico)
    set_tip(pico, 2000)
    set_tip(pico, 2000, second=True)
    set_battery(pico, 3900)
    build = mocker.spy(pen_mod, "build")
    run_boot(pico, 200)
    assert not build.spy_return.sup.fault & alarms.F_WATCHDOG


def test_boot_uses_the_default_profile_when_the_board_names_none(mocker):
    ready_device(pico)
    bare = types.SimpleNamespace(**{k: getattr(pico, k) for k in dir(pico) if k.isupper()})
    del bare.DEFAULT_PROFILE
    build = mocker.spy(pen_mod, "build")
    run_boot(bare, 200)
    assert build.spy_return.profile.name == "moderate"


def test_service_mode_stops_after_the_hal_with_the_valves_closed(board):
    ready_device(board)
    dev().set_input(board.RESET_PIN, 0)
    boot_mod.boot(board, port(board), dev().clock, dev().micropython)  # returns: the REPL is free
    assert dev().wdt is None
    assert not any_valve_driven(board)
    assert dev().log[0] == ("pin.init", board.VALVE_PIN, port(board).Pin.OUT, 0)


def test_board_boot_script_drives_the_valve_pins_low_first(board, monkeypatch):
    ready_device(board)
    monkeypatch.setitem(sys.modules, "machine", port(board))
    script = Path(board.__file__).with_name("boot.py")
    exec(compile(script.read_text(), str(script), "exec"), {})
    out = port(board).Pin.OUT
    assert dev().log == [("pin.init", p, out, 0) for p in valve_pins(board)]
