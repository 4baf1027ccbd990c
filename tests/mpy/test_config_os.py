"""The clinic configuration's two copies on MicroPython's own file system, through
`os` and the built-in open as hal/boot.py hands them in on a pen, and a pen booted
from them. MicroPython only (tests/mpy/run.mjs)."""
from boards.sim import board
from firmware import config, profiles, record, startup
from tests.core.support import flip_bit
from tests.mpy.test_storage_os import fresh

CFG = {"profiles": ["aftercare", "short"], "start": "short", "custom": []}


def test_a_new_pen_stores_the_factory_configuration_and_reads_it_back():
    st = fresh("config_new")
    started = startup.start(board, profiles.builtin("moderate"), st, 0, record.CAUSE_POWER)
    assert started.clinic.problem is None and started.clinic.factory
    got = config.choose(st.config_copies())
    assert got.whole and got.d == config.factory("moderate")


def test_a_stored_configuration_and_a_damaged_one_on_the_ports_file_system():
    st = fresh("config_stored")
    st.save_config(config.encode(CFG, 3))
    started = startup.start(board, profiles.builtin("moderate"), st, 0, record.CAUSE_POWER)
    assert started.clinic.problem is None and started.pen.profile.name == "short"
    path = st.root + "config1.bin"
    flip_bit(path, 20)
    started = startup.start(board, profiles.builtin("moderate"), st, 0, record.CAUSE_POWER)
    assert started.clinic.problem == "stored configuration refused: config1.bin: bad CRC"
