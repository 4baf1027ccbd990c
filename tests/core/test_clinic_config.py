"""The clinic configuration on the pen (firmware/startup.py, Clinic, through the
shell firmware/app.py): read at boot from its two copies, the factory one on a new
pen, a refused copy never replaced on the pen's own: no application until the
deliberate restore gesture or the host link puts one in force, recorded. Runs under
CPython and under MicroPython (tests/mpy/run.mjs)."""
from boards.sim import board
from firmware import alarms, config, profiles, record, startup, states
from firmware.app import App
from hal.fake import FakeHal
from hal.storage import CONFIG_FILES, Storage
from tests.core.support import raises
from tests.core.test_storage import DictFs

TICK = 10
CFG = {"profiles": ["aftercare", "short"], "start": "aftercare", "custom": []}
CONFIG_ALARM = alarms.worst(alarms.F_CONFIG)


class Plant:
    tip_c = 20.0
    handle_c = 30.0


class Pen:
    """A booted pen on a FakeHal and a file system in RAM, stepped by its shell."""

    def __init__(self, fs, fallback="moderate"):
        self.fs = fs
        self.hal = FakeHal(board, Plant())
        self.storage = Storage(fs)
        started = startup.start(board, profiles.builtin(fallback), self.storage,
                                self.hal.now_ms(), record.CAUSE_POWER)
        self.started = started
        self.clinic = started.clinic
        self.app = App(self.hal, started.pen, self.storage, started.journal, started.record_ok,
                       started.clinic)
        self.pen = started.pen
        self.out = self.step()

    def step(self):
        self.out = self.app.step()
        self.hal.advance(TICK)
        return self.out

    def run(self, ms):
        """Steps for ms; True if any step opened a valve."""
        opened = False
        for _ in range(ms // TICK):
            out = self.step()
            opened = opened or out.valve or out.master
        return opened

    def reset(self):
        self.hal.reset_pending = True
        return self.step()

    def records(self, kind):
        return [f for _, f, _ in self.storage.records() if f is not None and f["kind"] == kind]


def stored(d, seq=1):
    fs = DictFs()
    Storage(fs).save_config(config.encode(d, seq))
    return fs


def damaged(d=CFG, at=40):
    fs = stored(d)
    data = bytearray(fs.files["/" + CONFIG_FILES[0]])
    data[at] ^= 0x04
    fs.files["/" + CONFIG_FILES[0]] = bytes(data)
    return fs


def names(choices):
    return [p.name for p in choices]


def test_a_new_pen_stores_the_factory_configuration_and_records_it():
    p = Pen(DictFs(), "aftercare")
    factory = config.factory("aftercare")
    assert p.clinic.problem is None and p.clinic.factory
    assert names(p.pen.choices) == factory["profiles"] and p.pen.profile.name == "aftercare"
    got = config.choose(Storage(p.fs).config_copies())
    assert got.whole and got.d == factory
    p.run(200)  # the shell writes the boot's entries between ticks
    [change] = p.records("change")
    assert (change["what"], change["detail"]) == (record.CHANGE_CONFIG, "factory")


def test_a_stored_configuration_is_offered_from_its_start_and_kept_as_it_is():
    fs = stored(CFG, 4)
    before = dict(fs.files)
    p = Pen(fs)
    assert p.clinic.problem is None and not p.clinic.factory
    assert names(p.pen.choices) == ["aftercare", "short"] and p.pen.profile.name == "aftercare"
    p.run(200)
    assert p.records("change") == []
    assert all(fs.files[k] == before[k] for k in before)  # read, never rewritten


def test_a_write_cut_between_the_copies_is_finished_at_boot():
    fs = stored(CFG, 4)
    newer = config.encode(dict(CFG, start="short"), 5)
    fs.files["/" + CONFIG_FILES[0]] = newer  # copy 0 written, copy 1 not yet
    p = Pen(fs)
    assert p.pen.profile.name == "short"
    assert fs.files["/" + CONFIG_FILES[1]] == newer


def test_a_damaged_configuration_keeps_the_valves_closed_with_its_alarm():
    for fs, why in ((damaged(), "config0.bin: bad CRC"),
                    (stored({"profiles": ["aftercare", "retired"]}), "config.profiles[1]")):
        p = Pen(fs)
        assert why in p.clinic.problem, p.clinic.problem
        assert p.pen.profile.name == "moderate"  # stands in; never treats
        p.run(100)
        for _ in range(3):
            p.hal.pressed = True
            assert not p.run(1000)
            p.hal.pressed = False
            p.run(200)
        assert states.STATE_NAMES[p.out.state] == "IDLE" and p.out.alarm == CONFIG_ALARM
        assert alarms.name_of(p.out.alarm) == "config_invalid"
        assert alarms.priority(p.out.alarm) == alarms.MEDIUM


def test_a_configuration_that_cannot_be_read_is_refused_too():
    p = Pen(DictFs(unreadable="config"))
    assert "cannot be read" in p.clinic.problem
    p.hal.pressed = True
    assert not p.run(500)


def hold_mode_and_reset(p, hold_ms, presses):
    p.hal.mode_down = True
    p.run(hold_ms)
    for _ in range(presses):
        p.reset()
        p.run(200)


def test_the_restore_gesture_puts_the_factory_configuration_in_force_and_records_it():
    p = Pen(damaged())
    p.run(100)
    hold_mode_and_reset(p, 5000, 2)
    assert p.clinic.problem is not None  # two presses are not enough
    hold_mode_and_reset(p, 0, 1)
    assert p.clinic.problem is None
    p.hal.mode_down = False
    p.run(200)
    assert p.out.alarm != CONFIG_ALARM
    assert names(p.pen.choices) == config.factory("moderate")["profiles"]
    assert config.choose(Storage(p.fs).config_copies()).d == config.factory("moderate")
    [change] = p.records("change")
    assert (change["what"], change["detail"]) == (record.CHANGE_CONFIG, "factory")
    assert p.pen.session == 1  # holding mode started no session
    p.hal.pressed = True
    assert p.run(500)  # it treats again


def test_no_accident_restores_the_factory_configuration():
    p = Pen(damaged())
    p.run(100)
    hold_mode_and_reset(p, 4000, 5)  # pressed before the hold is long enough
    assert p.clinic.problem is not None
    p.hal.mode_down = False
    p.run(100)
    hold_mode_and_reset(p, 5000, 2)
    p.hal.mode_down = False  # released: the count starts again
    p.run(100)
    hold_mode_and_reset(p, 5000, 2)
    p.hal.mode_down = False
    p.run(100)
    p.reset()  # reset alone
    p.run(100)
    assert p.clinic.problem is not None
    assert getattr(p.pen, "cartridges", 0) == 0  # nor were the presses taken for a cartridge
    assert p.pen.session == 1
    assert p.records("change") == []


def test_the_host_link_installs_a_checked_configuration_and_records_it():
    p = Pen(damaged())
    p.run(100)
    bad = {"profiles": ["short", "frosty"]}
    e = raises(config.ConfigError, p.clinic.install, p.pen, bad, p.hal.now_ms())
    assert "config.profiles[1]" in str(e) and p.clinic.problem is not None
    p.clinic.install(p.pen, CFG, p.hal.now_ms())
    assert p.clinic.problem is None and names(p.pen.choices) == ["aftercare", "short"]
    got = config.choose(Storage(p.fs).config_copies())
    assert got.d == CFG and got.whole
    p.run(200)
    [change] = p.records("change")
    crc = got.data[-4] | got.data[-3] << 8 | got.data[-2] << 16 | got.data[-1] << 24
    assert change["detail"] == "%08x" % crc
    p.hal.pressed = True
    assert p.run(300)
    assert "not while" in str(raises(config.ConfigError, p.clinic.install, p.pen, CFG,
                                     p.hal.now_ms()))
