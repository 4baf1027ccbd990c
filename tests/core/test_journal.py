"""What the pen writes down, and when: the journal watches the pen's outputs and
queues records and state snapshots; the state is written ahead of each
application (armed). Runs under CPython and MicroPython alike."""
from firmware import alarms, journal, record, states, store
from tests.core.pen_rig import Rig, is_state, profile

FLOW_MG_PER_S = 15


class Watched:
    """A rig whose every tick is shown to a journal, as the shell does."""

    def __init__(self, **changes):
        self.rig = Rig(profile("moderate", **changes), boot=False)
        self.journal = journal.Journal(3, self.rig.pen.session, FLOW_MG_PER_S)
        self.written = []

    def tick(self, **kw):
        out = self.rig.tick(**kw)
        self.journal.observe(self.rig.t, self.rig.pen, out)
        return out

    def run_ms(self, ms):
        for _ in range(ms // 10):
            self.tick()

    def drain(self):
        items = self.journal.queue[:]
        del self.journal.queue[:]
        self.written += items
        return items


def records(items, kind):
    return [record.decode(p) for w, p in items if w == journal.RECORD
            and record.decode(p)["kind"] == kind]


def states_of(items):
    return [p for w, p in items if w == journal.STATE]


def test_entering_idle_stores_the_state_armed_one_application_ahead():
    w = Watched()
    w.tick()
    assert is_state(w.rig.out, "IDLE")
    [state] = states_of(w.drain())
    p = w.rig.prof
    assert state.armed and state.applications == 1 and state.open_ms == p.contact_ms
    assert state.boot_count == 3 and state.profile == "moderate" and state.rest_ms == p.rest_ms


def test_an_application_is_recorded_with_what_it_did():
    w = Watched()
    w.tick()
    w.drain()
    w.rig.trigger = True
    w.run_ms(8000)
    w.rig.trigger = False
    w.tick()
    items = w.drain()
    [app] = records(items, "application")
    assert app["session"] == 1 and app["number"] == 1 and app["profile"] == "moderate"
    assert states.END_NAMES[app["end_reason"]] == "released"
    assert 7900 <= app["length_ms"] <= 8010
    assert app["min_cc"] <= app["mean_cc"] <= 3200
    assert abs(app["min_cc"] - w.rig.pen.stats.min_cc) == 0
    assert 0 < app["open_ms"] <= app["length_ms"]
    assert app["gas_mg"] == app["open_ms"] * FLOW_MG_PER_S // 1000
    assert app["at_target_ms"] > 0
    [state] = states_of(items)
    assert not state.armed and state.applications == 1  # the real count, at rest


def test_faults_are_recorded_as_they_latch_and_clear():
    w = Watched()
    w.tick()
    w.tick(raw=65535)
    w.run_ms(100)
    assert w.rig.pen.reset(w.rig.t)
    w.tick()
    faults = records(w.drain(), "fault")
    assert [(f["latched"], f["cleared"]) for f in faults] == [(alarms.F_OPEN, 0),
                                                              (0, alarms.F_OPEN)]


def test_a_new_session_is_recorded():
    w = Watched(cycles=1, rest_s=5, hold_s=1)
    w.tick()
    w.rig.trigger = True
    w.run_ms(8000)
    w.rig.trigger = False
    w.run_ms(6000)
    assert is_state(w.rig.out, "DONE")
    w.drain()
    assert w.rig.pen.new_session(w.rig.t)
    w.tick()
    items = w.drain()
    [session] = records(items, "session")
    assert session["session"] == 2 and session["profile"] == "moderate"
    assert states_of(items)[-1].session == 2


def test_the_queue_is_bounded():
    w = Watched()
    for n in range(journal.QUEUE_MAX + 3):
        w.journal._record(record.CHANGE, n, (record.CHANGE_CLOCK, "x"))
    assert len(w.journal.queue) == journal.QUEUE_MAX and w.journal.lost == 3


def test_a_stored_state_round_trips_through_the_store_format():
    w = Watched()
    w.tick()
    [state] = states_of(w.drain())
    state.seq = 7
    assert store.decode(store.encode(state)) == state
