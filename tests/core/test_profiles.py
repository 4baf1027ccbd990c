"""Profile loader: every built-in loads; a value over an absolute limit is
refused with a message that names the field."""
from firmware import limits, profiles
from firmware.profiles import ProfileError
from tests.core.support import raises


def variant(base="moderate", drop=None, **changes):
    for d in profiles.PROFILES:
        if d["name"] == base:
            d = dict(d)
            d.update(changes)
            if drop is not None:
                del d[drop]
            return d
    raise KeyError(base)


def refused_naming(field, d):
    err = raises(ProfileError, profiles.load, d)
    assert field in str(err), str(err)


def test_every_builtin_profile_loads():
    loaded = profiles.all_builtin()
    assert [p.name for p in loaded] == [d["name"] for d in profiles.PROFILES]
    for p in loaded:
        assert p.floor_cc < p.target_cc
        assert p.hold_ms <= p.contact_ms <= limits.MAX_CONTACT_MS


def test_contact_over_the_absolute_limit_is_refused():
    refused_naming("contact_s", variant(contact_s=60))


def test_rest_under_the_minimum_is_refused():
    refused_naming("rest_s", variant(rest_s=1))


def test_session_over_the_cap_is_refused():
    refused_naming("session_s", variant(session_s=400))


def test_floor_below_the_absolute_floor_is_refused():
    refused_naming("floor_c", variant(floor_c=-95))


def test_cooling_profile_below_the_pigment_floor_is_refused():
    refused_naming("floor_c", variant("aftercare", floor_c=-6))


def test_unknown_field_is_refused():
    refused_naming("duty_pct", variant(duty_pct=50))


def test_missing_field_is_refused():
    refused_naming("hold_s", variant(drop="hold_s"))


def test_bool_where_a_number_is_expected_is_refused():
    refused_naming("target_c", variant(target_c=True))


def test_fractional_cycles_are_refused():
    refused_naming("cycles", variant(cycles=1.5))


def test_hold_longer_than_contact_is_refused():
    refused_naming("hold_s", variant(hold_s=25, contact_s=20))


def test_target_at_or_below_the_floor_is_refused():
    refused_naming("target_c", variant(target_c=-75, floor_c=-75))
    refused_naming("target_c", variant(target_c=-80, floor_c=-75))


def test_aftercare_never_goes_below_the_pigment_floor():
    p = profiles.builtin("aftercare")
    assert p.kind == profiles.COOLING
    assert p.floor_cc >= limits.PIGMENT_FLOOR_CC
    assert limits.PIGMENT_FLOOR_CC == -500


def test_lethal_temperature_is_optional_and_kept_in_centi_c():
    assert profiles.builtin("moderate").lethal_cc == -2000
    assert profiles.builtin("aftercare").lethal_cc == limits.PIGMENT_FLOOR_CC
    assert profiles.load(variant(drop="lethal_c")).lethal_cc is None
    assert "lethal_c" not in profiles.load(variant(drop="lethal_c")).as_dict()
    assert profiles.load(variant(lethal_c=-60)).lethal_cc == limits.LETHAL_MIN_CC


def test_lethal_temperature_outside_its_limits_is_refused():
    err = raises(ProfileError, profiles.load, variant(lethal_c=-60.5))
    assert "lethal_c = -60.5 is below -60.0 (LETHAL_MIN_CC)" in str(err), str(err)
    err = raises(ProfileError, profiles.load, variant(lethal_c=-4))
    assert "lethal_c = -4 is above -5.0 (PIGMENT_FLOOR_CC)" in str(err), str(err)
