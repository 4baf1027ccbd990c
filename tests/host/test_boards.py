"""The reference boards: constants, pin maps, deploy file lists and freeze manifests."""
import types
from pathlib import Path

import pytest

from boards.esp32s3_devkit import board as esp32s3
from boards.rp2040_pico import board as pico
from boards.sim import board as sim
from firmware import limits
from host_tools.quality.check import stub_requirements
from host_tools.pens.device_files import ROOT, UnknownBoard, device_files

DEVICE_BOARDS = {"rp2040_pico": pico, "esp32s3_devkit": esp32s3}
# The same tip, divider, valve and regulator on every pen: the simulator's values
# are the reference boards' (see boards/sim/board.py).
SHARED_WITH_SIM = ("ADC_BITS", "DIVIDER_OHM", "THERMISTOR_POINTS", "VALVE_MIN_ON_MS",
                   "VALVE_MIN_OFF_MS", "BATTERY_LOW_MV", "REG_KP", "REG_KI", "REG_FF")
PINS = ("VALVE_PIN", "MASTER_VALVE_PIN", "KEEPALIVE_PIN", "ENABLE_SENSE_PIN", "THERMISTOR_PIN",
        "THERMISTOR2_PIN", "ADC_REF_PIN", "BATTERY_PIN", "TRIGGER_PIN", "RESET_PIN", "BUZZER_PIN",
        "LED_PIN")
ANALOG = ("THERMISTOR_PIN", "THERMISTOR2_PIN", "ADC_REF_PIN", "BATTERY_PIN")
# What each port's chip offers (docs/PORTS.md): rp2 ADC0..3 on GP26..29 (GP29 is the
# Pico's VSYS/3); the ESP32-S3's ADC1 on GPIO1..10 (ADC2 is shared with the radio),
# less its strapping pins, and GPIO19/20 are its USB.
ADC_PINS = {"rp2": {26, 27, 28, 29}, "esp32": set(range(1, 11)) - {3}}
AVOID = {"rp2": {23, 24, 29}, "esp32": {0, 3, 19, 20, 45, 46} | set(range(22, 38))}


def constants(module):
    return {k for k in vars(module) if k.isupper()}


@pytest.mark.parametrize("name", DEVICE_BOARDS)
def test_device_board_has_the_sim_constants_and_the_pin_map(name):
    board = DEVICE_BOARDS[name]
    assert board.NAME == name
    assert constants(sim) <= constants(board)
    assert {k: getattr(board, k) for k in SHARED_WITH_SIM} == {k: getattr(sim, k) for k in SHARED_WITH_SIM}
    pins = [getattr(board, k) for k in PINS if getattr(board, k) is not None]
    assert len(pins) == len(set(pins))  # no pin does two jobs
    assert board.HAS_MASTER_VALVE is True and board.MASTER_VALVE_PIN is not None  # two valves
    assert limits.WDT_MIN_MS <= board.WDT_MS <= limits.WDT_MAX_MS
    assert board.PORT in stub_requirements()
    assert board.ADC_SAMPLES >= 1 and board.BATTERY_DIVIDER >= 1
    assert board.ADC_REF_MV * board.BATTERY_DIVIDER * 65535 < 1 << 30  # battery maths stays a small int


@pytest.mark.parametrize("name", DEVICE_BOARDS)
def test_hit_and_hold_settings_are_all_or_nothing(name):
    board = DEVICE_BOARDS[name]
    settings = (board.VALVE_HIT_MS, board.VALVE_HOLD_DUTY, board.VALVE_PWM_HZ)
    assert all(v is None for v in settings) or (
        board.VALVE_HIT_MS >= board.VALVE_MIN_ON_MS and 0 < board.VALVE_HOLD_DUTY < 65535
        and board.VALVE_PWM_HZ >= 20000)  # above hearing


@pytest.mark.parametrize("name", DEVICE_BOARDS)
def test_device_files_of_a_real_board(name):
    files = device_files(name)
    dests = [d for _, d in files]
    firmware = sorted("firmware/" + p.name for p in (ROOT / "firmware").glob("*.py"))
    assert dests == firmware + ["hal/__init__.py", "hal/machine_hal.py", "hal/boot.py",
                                "hal/integrity.py", "hal/storage.py", "hal/display.py", "hal/link.py",
                                "boards/__init__.py", "boards/reference_pen.py",
                                "boards/%s/__init__.py" % name, "boards/%s/board.py" % name,
                                "boot.py", "main.py"]
    for run_by_name in ("boot.py", "main.py"):
        assert dict((d, s) for s, d in files)[run_by_name] == str(ROOT / "boards" / name / run_by_name)
    assert all(Path(s).is_file() and Path(s).is_absolute() for s, _ in files)


def test_device_files_of_the_virtual_pen():
    dests = [d for _, d in device_files("sim")]
    assert "hal/fake.py" in dests and "boards/sim/board.py" in dests
    assert not {"hal/machine_hal.py"} & set(dests)
    assert dict((d, s) for s, d in device_files("sim"))["main.py"] == str(ROOT / "boards" / "sim"
                                                                          / "main.py")


def test_unknown_board_is_refused_with_the_known_ones():
    with pytest.raises(UnknownBoard, match="known: esp32s3_devkit, rp2040_pico, sim"):
        device_files("pico2")


def frozen(name):
    """Runs a board's manifest.py with recorders of MicroPython's manifest functions
    (same signatures), following relative includes with their options as the
    build does; returns (included port manifests and required micropython-lib
    packages, {frozen path: opt})."""
    included, frozen_files = [], {}

    def run(manifest, options):
        here = manifest.parent

        def package(package_path, files=None, base_path=".", opt=None):
            base = (here / base_path).resolve()
            paths = ([base / package_path / f for f in files] if files is not None
                     else sorted((base / package_path).rglob("*.py")))
            for p in paths:
                assert p.is_file(), p
                frozen_files[p.relative_to(base).as_posix()] = opt

        def module(module_path, base_path=".", opt=None):
            assert (here / base_path / module_path).is_file()
            frozen_files[module_path] = opt

        def include(manifest_path, **kwargs):
            if manifest_path.startswith("$("):
                included.append(manifest_path)
            else:
                run((here / manifest_path).resolve(), types.SimpleNamespace(**kwargs))

        def require(name, version=None, unix_ffi=False, pypi=None, **kwargs):
            included.append("require:" + name)

        exec(compile(manifest.read_text(), str(manifest), "exec"),
             {"package": package, "module": module, "include": include, "require": require,
              "options": options})

    run(ROOT / "boards" / name / "manifest.py", types.SimpleNamespace())
    return included, frozen_files


@pytest.mark.parametrize("name", DEVICE_BOARDS)
def test_manifest_freezes_exactly_the_device_files_at_opt_3(name):
    included, files = frozen(name)
    # The port's own modules stay; the display's driver comes from micropython-lib.
    assert included == ["$(PORT_DIR)/boards/manifest.py", "require:ssd1306"]
    assert set(files) == {d for _, d in device_files(name)}
    assert set(files.values()) == {3}


@pytest.mark.parametrize("name", DEVICE_BOARDS)
def test_pins_fit_the_port(name):
    board = DEVICE_BOARDS[name]
    for k in ANALOG:
        pin = getattr(board, k)
        if pin is not None:
            assert pin in ADC_PINS[board.PORT], k
    digital = [getattr(board, k) for k in PINS if k not in ANALOG]
    assert not set(digital) & AVOID[board.PORT] - {board.LED_PIN}
    assert board.THERMISTOR_PIN != board.THERMISTOR2_PIN  # each sensor on its own channel


def test_the_pin_collision_check_catches_a_shared_pin():
    board = types.SimpleNamespace(**{k: getattr(pico, k) for k in PINS})
    board.KEEPALIVE_PIN = board.MASTER_VALVE_PIN
    pins = [getattr(board, k) for k in PINS if getattr(board, k) is not None]
    assert len(pins) != len(set(pins))


@pytest.mark.parametrize("name", DEVICE_BOARDS)
def test_port_constants_of_the_single_fault_design(name):
    board = DEVICE_BOARDS[name]
    assert board.MICROPYTHON_MIN == (1, 29, 0)
    assert board.BACKSTOP_TIMER_HARD is {"rp2": True, "esp32": False}[board.PORT]
    assert (board.ADC_REF_PIN is None) is (not board.ADC_READS_UV)  # a ratio needs its reference
    assert sim.HAS_MASTER_VALVE is True
    # The monostable: a healthy loop re-triggers it every two ticks; its bound is the gas's.
    assert 2 * limits.TICK_MS < board.ENABLE_HOLD_MIN_MS <= board.ENABLE_HOLD_MS
    assert board.ENABLE_HOLD_MS * limits.MAX_COOL_CC_PER_S // 1000 == 160  # 1.6 C of extra cooling
    assert board.DIVIDER2_OHM != board.DIVIDER_OHM
    if board.PORT == "rp2":  # the watchdog block's registers (RP2040 datasheet, pico-sdk)
        assert (board.WDT_REASON_ADDR, board.WDT_SCRATCH4_ADDR) == (0x40058000 + 0x08,
                                                                  0x40058000 + 0x0C + 4 * 4)
        assert board.WDT_ENABLE_MAGIC == 0x6AB73121 and board.WDT_REASON_TIMER == 1
    else:
        assert board.WDT_REASON_ADDR is board.WDT_SCRATCH4_ADDR is board.WDT_ENABLE_MAGIC is None


def e11_temperatures(second):
    """The temperatures at which a sensor reads the RP2040-E11 codes (12-bit)."""
    from firmware import thermistor

    therm = thermistor.from_board(pico, second)
    return [therm.celsius_at(code << 4 | code >> 8) for code in (512, 1536, 2560, 3584)]


def test_the_two_sensors_meet_the_rp2040_e11_codes_at_other_temperatures():
    first, second = e11_temperatures(False), e11_temperatures(True)
    assert all(abs(a - b) > 2.5 for a in first for b in second)
    # docs/PORTS.md quotes them to 0.1 C.
    doc = (ROOT / "docs" / "PORTS.md").read_text()
    for t in first + second:
        assert "%.1f C" % t in doc, t


@pytest.mark.parametrize("name", DEVICE_BOARDS)
def test_the_display_sits_on_free_pins_its_port_can_route(name):
    board = DEVICE_BOARDS[name]
    spec = board.DISPLAY
    assert set(spec) == {"i2c", "sda", "scl", "freq", "addr"}
    pins = [getattr(board, k) for k in PINS if getattr(board, k) is not None]
    assert not {spec["sda"], spec["scl"]} & set(pins) and spec["sda"] != spec["scl"]
    assert not {spec["sda"], spec["scl"]} & AVOID[board.PORT]
    assert spec["freq"] == 400000 and spec["addr"] == 0x3C  # the SSD1306's fastest; SA0 low
    if board.PORT == "rp2":  # SCL odd, SDA even, bit 1 names the bus (ports/rp2/machine_i2c.h)
        assert spec["scl"] & 1 == 1 and spec["sda"] & 1 == 0
        assert (spec["scl"] & 2) >> 1 == (spec["sda"] & 2) >> 1 == spec["i2c"]
    assert sim.DISPLAY is not None  # the simulator draws the same screens (--screens)
