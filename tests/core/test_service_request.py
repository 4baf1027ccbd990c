"""`service` over the host link restarts the pen only in IDLE with both valves
closed (firmware/protocol.py, poll): a trigger pressed between the clinician's
confirmation and the restart delays the restart to the next IDLE, never cutting an
application short. Runs under CPython and MicroPython (tests/mpy/run.mjs)."""
from firmware import states
from tests.core.link_rig import rig_and_host


def test_a_confirmed_restart_waits_for_the_pen_to_be_idle_with_its_valves_closed():
    rig, p, host, hooks = rig_and_host()
    assert host.one("1 service")[1] == "pending"
    p.confirm(rig.t)
    p.poll(rig.t)  # confirmed: the restart is due once the reply is written
    rig.press()
    rig.run_ms(300)
    assert rig.pen.state == states.TREATING and rig.pen.out.valve
    assert host.drain()[0][:2] == ("1", "confirmed")
    p.poll(rig.t)
    assert ("service",) not in hooks.calls
    rig.release()
    while rig.pen.state != states.IDLE:
        rig.run_ms(100)
        p.poll(rig.t)
        assert ("service",) not in hooks.calls or rig.pen.state == states.IDLE
    p.poll(rig.t)
    assert hooks.calls.count(("service",)) == 1
    p.poll(rig.t + 10)
    assert hooks.calls.count(("service",)) == 1  # once
