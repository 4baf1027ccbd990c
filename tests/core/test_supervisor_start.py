"""The supervisor's starting state is part of the fail-closed contract."""
from firmware import alarms, limits, states, thermistor
from firmware.supervisor import Supervisor
from tests.core.pen_rig import Rig, is_state, profile


def test_a_new_supervisor_starts_closed_empty_and_unfaulted():
    sup = Supervisor(profile(), 1000, False)
    assert sup.valve is False  # the valve is taken to be closed
    assert sup.fault == 0 and sup.inhibit == 0
    assert sup.have_reading is False and sup.status == thermistor.OK and sup.cc == 0
    assert sup.open_ms == 0 and sup.applications == 0 and sup.stuck_ms == 0
    assert (sup.fresh_ms, sup.ok_ms, sup.rest_end_ms, sup.app_start_ms, sup.close_ms) == (1000,) * 5
    assert sup.last_raw < 0  # no reading yet: the first one never counts as unchanged
    assert sup.may_start(1000) is False  # nothing starts before a good reading


def test_a_pen_that_never_gets_a_reading_latches_stale_after_50_ms():
    rig = Rig(boot=False)
    for _ in range(limits.STALE_MS // 10 + 1):  # 0 to 50 ms: not yet more than 50 ms
        assert rig.tick(raw=-1).fault == 0
    out = rig.tick(raw=-1)
    assert out.fault & alarms.F_STALE
    assert is_state(out, "FAULT")


def test_the_first_reading_is_never_judged_stuck_or_too_fast():
    rig = Rig(boot=False)
    out = rig.tick(raw=rig.pen.thermistor.raw_for(-4000))  # still cold from a freeze
    assert out.fault == 0
    assert states.STATE_NAMES[out.state] in ("BOOT", "IDLE")
