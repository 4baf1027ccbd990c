"""The clinic configuration's stored form (firmware/config.py): a copy round-trips,
any damage or foreign content is refused with what is wrong, and of two copies
none that fails is ever passed over for its twin. Runs under CPython and under
MicroPython (tests/mpy/run.mjs)."""

from firmware import config, profiles
from tests.core.support import assert_copy_refusals, raises, with_crc

CFG = {"profiles": ["aftercare", "short"], "start": "aftercare", "custom": []}
CUSTOM = {"name": "gentle", "kind": "cooling", "target_c": 6, "floor_c": -2, "hold_s": 0,
          "contact_s": 8, "rest_s": 6, "session_s": 60, "cycles": 5, "cool_window_s": 2,
          "cool_drop_c": 3}


def _problem(data):
    return str(raises(config.ConfigError, config.read, bytes(data)))


def test_a_copy_round_trips_and_is_at_least_size_min():
    for d, seq in ((CFG, 1), (config.factory("moderate"), 4294967295),
                   ({"profiles": ["gentle", "ftf"], "custom": [CUSTOM]}, 7)):
        data = config.encode(d, seq)
        assert config.SIZE_MIN <= len(data) <= config.SIZE_MAX
        got, got_seq, choices, start = config.read(data)
        assert got == d and got_seq == seq
        assert [p.name for p in choices] == d["profiles"]
        assert choices[start].name == d.get("start", d["profiles"][0])


def test_a_configuration_too_large_for_a_copy_is_refused_when_stored():
    many = [dict(CUSTOM, name="c%02d" % i) for i in range(40)]
    d = {"profiles": ["c00"], "custom": many}
    config.load(d)  # a valid configuration ...
    assert "over the" in str(raises(config.ConfigError, config.encode, d, 1))  # ... too big


def test_every_changed_byte_is_refused():
    good = config.encode(CFG, 3)
    for at in range(len(good)):
        bad = bytearray(good)
        bad[at] ^= 0x01
        assert _problem(bad) == "bad CRC", at


def test_a_torn_or_oversized_copy_is_refused():
    good = config.encode(CFG, 3)
    for n in list(range(0, 64)) + list(range(64, len(good), 97)):
        assert "cut short" in _problem(good[:n]), n
    assert "cut short" in _problem(good + bytes(config.SIZE_MAX))


def test_an_intact_crc_over_foreign_content_is_refused_with_what_is_wrong():
    good = config.encode(CFG, 3)
    assert "not a configuration copy" in _problem(with_crc(bytes(b"XPCF") + good[4:]))
    assert_copy_refusals(good, b"XPCF", config.VERSION + 1, _problem)


def test_a_copy_that_reads_is_still_checked_like_any_configuration():
    """Intact copies the encoder never writes (callers check first), as another
    firmware with other profiles or limits may have left them."""
    for d, field in (({"profiles": ["aftercare", "retired"]}, "config.profiles[1]"),
                     ({"profiles": ["x"], "custom": [dict(CUSTOM, name="x", contact_s=60)]},
                      "config.custom[0]: profile 'x': contact_s = 60 is above 45"),
                     (["aftercare"], "config must be an object")):
        data = config.encode(d, 1)
        assert field in _problem(data), field


def _copies(a, b):
    return [("config0.bin", a), ("config1.bin", b)]


def test_no_copy_at_all_is_none():
    assert config.choose(_copies(None, None)) is None


def test_two_equal_copies_are_whole():
    data = config.encode(CFG, 5)
    got = config.choose(_copies(data, data))
    assert got.whole and got.seq == 5 and got.d == CFG and got.choices[got.start].name == "aftercare"


def test_a_write_cut_between_the_copies_gives_the_newer_and_asks_for_the_other():
    old, new = config.encode(CFG, 5), config.encode(dict(CFG, start="short"), 6)
    for copies in (_copies(new, old), _copies(old, new), _copies(new, None), _copies(None, old)):
        got = config.choose(copies)
        assert not got.whole
        assert got.seq == max(config.decode(d)[1] for _, d in copies if d is not None)
    assert config.choose(_copies(new, old)).data == new


def test_a_damaged_copy_is_refused_even_beside_a_valid_twin():
    good = config.encode(CFG, 5)
    bad = bytearray(good)
    bad[40] ^= 0x10
    for copies, name in ((_copies(bytes(bad), good), "config0.bin"),
                         (_copies(good, bytes(bad)), "config1.bin"),
                         (_copies(None, good[:100]), "config1.bin")):
        problem = str(raises(config.ConfigError, config.choose, copies))
        assert problem.startswith(name + ": "), problem


def test_the_factory_configuration_offers_every_built_in_and_starts_where_asked():
    names = [d["name"] for d in profiles.PROFILES]
    for start, expected in (("aftercare", "aftercare"), ("no such", names[0])):
        choices, i = config.load(config.factory(start))
        assert [p.name for p in choices] == names and choices[i].name == expected
