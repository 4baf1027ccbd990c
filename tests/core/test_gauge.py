"""The cartridge gauge (firmware/gauge.py), its warning in the pen, the new-cartridge
gesture, and what the journal and the stored state keep of it. Runs under CPython
and MicroPython alike (tests/mpy/run.mjs)."""
from boards.sim import board
from firmware import alarms, buttons, journal, record, signals, store
from firmware.gauge import SIZES_MG, UNKNOWN, Gauge
from tests.core.pen_rig import Rig, flows, is_state, profile
from tests.core.test_journal import Watched, records, states_of

SIZE_MG = 8000
FLOW = 15
FLOW_MAX = 16


def _near_empty(rig, need_ms):
    """Sets the rig's gauge so that need_ms more fits at its board's highest flow, and
    not one ms more."""
    rig.pen.gauge.open_ms = SIZE_MG * 1000 // board.FLOW_MAX_MG_PER_S - need_ms


def test_the_estimate_is_valve_open_time_at_the_nominal_flow():
    g = Gauge(SIZE_MG, FLOW, FLOW_MAX)
    assert g.left_mg() == SIZE_MG and g.known()
    for _ in range(1000):
        g.count(10)
    assert g.open_ms == 10000 and g.left_mg() == SIZE_MG - 10 * FLOW
    for _ in range(60000):  # far past empty: it stops there, never below zero
        g.count(10)
    assert g.left_mg() == 0 and g.open_ms == (SIZE_MG * 1000 + FLOW - 1) // FLOW
    g.fitted()
    assert g.open_ms == 0 and g.left_mg() == SIZE_MG


def test_the_warning_counts_at_the_highest_flow():
    g = Gauge(SIZE_MG, FLOW, FLOW_MAX)
    g.open_ms = 400000  # 6000 mg at the nominal flow, 6400 mg at the highest
    assert g.left_mg() == 2000
    assert g.can_finish(100000) and not g.can_finish(100001)  # 1600 mg at 16 mg/s


def test_a_cartridge_not_known_reads_minus_one_and_never_can_finish():
    g = Gauge(SIZE_MG, FLOW, FLOW_MAX)
    for count in (UNKNOWN, -5, SIZE_MG * 1000):  # forgotten, or beyond empty: not known
        g.restore(count)
        assert not g.known() and g.left_mg() == -1 and not g.can_finish(0), count
        g.count(10)
        assert g.open_ms == UNKNOWN
    g.restore(1234)
    assert g.open_ms == 1234
    g.restore(UNKNOWN)
    g.fitted()
    assert g.known() and g.can_finish(45000)


def test_every_product_stays_a_small_integer_on_micropython():
    # A small int holds 30 bits plus sign on 32-bit ports; a larger one is on the heap.
    for size in SIZES_MG:
        for nominal in (5, 50):
            g = Gauge(size, nominal, 2 * nominal)
            for _ in range(3):
                g.count(10 ** 6)
            assert (g.open_ms + 300000) * g.flow_max < 2 ** 30
            assert size * 1000 < 2 ** 30


def test_the_board_declares_a_supported_size_and_its_flows():
    assert board.CARTRIDGE_MG in SIZES_MG
    assert board.NOMINAL_FLOW_MG_PER_S <= board.FLOW_MAX_MG_PER_S
    g = Rig().pen.gauge
    assert (g.size_mg, g.flow, g.flow_max) == (board.CARTRIDGE_MG, board.NOMINAL_FLOW_MG_PER_S,
                                               board.FLOW_MAX_MG_PER_S)


def test_a_board_with_an_unsupported_cartridge_is_refused():
    from firmware import pen as pen_mod

    class Odd:
        pass

    for name in dir(board):
        setattr(Odd, name, getattr(board, name))
    for attr, value in (("CARTRIDGE_MG", 12000), ("FLOW_MAX_MG_PER_S", 14),
                        ("NOMINAL_FLOW_MG_PER_S", 200)):
        setattr(Odd, attr, value)
        try:
            pen_mod.build(Odd, profile())
        except pen_mod.BoardError as e:
            assert attr in str(e), str(e)
        else:
            assert False, "%s = %s was accepted" % (attr, value)
        setattr(Odd, attr, getattr(board, attr))


def test_the_gauge_counts_what_the_session_counts_and_nothing_while_proving():
    rig = Rig(profile("moderate"))
    rig.press()
    rig.run_ms(8000)
    rig.release()
    counted = rig.pen.gauge.open_ms
    assert counted == rig.pen.sup.open_ms > 0
    rig.run_ms(6000)  # the rest, with both proving steps
    assert rig.pen.prove_step == 0 and rig.pen.gauge.open_ms == counted


def test_low_gas_warns_before_an_application_pauses_during_it_and_never_blocks():
    rig = Rig(profile("moderate"))
    _near_empty(rig, rig.prof.contact_ms - 1)
    out = rig.tick()
    assert alarms.name_of(out.alarm) == "low_gas" and rig.pen.low_gas
    assert alarms.priority(out.alarm) == alarms.LOW
    assert out.beep == signals.BEEP_LOW
    out = rig.press()
    assert flows(out) and is_state(out, "TREATING")  # it only warns
    assert out.alarm == 0 and out.beep == signals.BEEP_SECOND  # the clicks time the freeze
    rig.run_ms(2000)
    out = rig.release()
    assert is_state(out, "LOCKOUT") and alarms.name_of(out.alarm) == "low_gas"


def test_the_warning_is_for_a_whole_contact_time_or_what_is_left_of_the_session():
    rig = Rig(profile("moderate"))
    _near_empty(rig, rig.prof.contact_ms)
    assert rig.tick().alarm == 0
    _near_empty(rig, rig.prof.contact_ms - 10)
    assert alarms.name_of(rig.tick().alarm) == "low_gas"
    rig.pen.sup.open_ms = rig.prof.session_ms - 5000  # 5 s of the session left: that fits
    assert rig.tick().alarm == 0


def test_a_cartridge_not_known_warns_until_a_new_one_is_declared():
    rig = Rig(profile("moderate"))
    rig.pen.gauge.restore(UNKNOWN)
    out = rig.tick()
    assert alarms.name_of(out.alarm) == "low_gas" and out.gas_left_mg == -1
    assert rig.pen.new_cartridge(rig.t)
    out = rig.tick()
    assert out.alarm == 0 and out.gas_left_mg == board.CARTRIDGE_MG
    assert rig.pen.cartridges == 1


def test_a_new_cartridge_only_in_idle_or_done_never_while_gas_can_flow():
    rig = Rig(profile("moderate"))
    rig.pen.gauge.open_ms = 100000
    rig.press()
    assert rig.pen.new_cartridge(rig.t) is False  # treating
    assert rig.tick().beep == signals.BEEP_REFUSED
    rig.run_ms(1000)
    rig.release()
    assert rig.pen.new_cartridge(rig.t) is False  # resting
    rig.run_ms(6000)
    assert is_state(rig.out, "IDLE")
    rig.trigger = True  # a fresh press on the very tick the gesture lands
    assert rig.pen.new_cartridge(rig.t)
    out = rig.tick()
    assert is_state(out, "IDLE") and not out.valve  # that tick starts no application
    assert rig.pen.gauge.open_ms == 0 and rig.pen.cartridges == 1
    assert flows(rig.tick())  # the press still counts, on the next tick


def test_a_new_cartridge_is_refused_in_fault_and_while_proving_in_done():
    rig = Rig(profile("moderate"))
    rig.tick(raw=65535)
    assert is_state(rig.tick(raw=65535), "FAULT")
    assert rig.pen.new_cartridge(rig.t) is False
    rig = Rig(profile("moderate"))
    rig.pen.sup.open_ms = rig.prof.session_ms - 300
    rig.press()
    rig.run_ms(1000)  # the session's cap ends it: DONE at once, the proving still to come
    assert is_state(rig.out, "DONE")
    assert rig.pen.prove_step != 0 and rig.pen.new_cartridge(rig.t) is False
    rig.release()
    rig.run_ms(4000)
    assert rig.pen.prove_step == 0 and rig.pen.new_cartridge(rig.t)
    assert is_state(rig.tick(), "DONE") and rig.pen.gauge.open_ms == 0


def test_a_mode_press_spent_on_the_cartridge_gives_no_profile_and_no_session():
    b = buttons.ModeButton()
    assert b.update(0, True) == buttons.NONE
    b.consume()
    for t in range(10, 5000, 10):
        assert b.update(t, True) == buttons.NONE
    assert b.update(5000, False) == buttons.NONE
    b.consume()  # a press that begins on the gesture's own tick
    assert b.update(6000, True) == buttons.NONE and b.update(6100, False) == buttons.NONE
    assert b.update(7000, True) == buttons.NONE and b.update(7100, False) == buttons.SHORT


def test_the_journal_records_a_new_cartridge_and_stores_its_count_never_ahead():
    w = Watched()
    w.tick()
    [idle] = states_of(w.drain())
    assert idle.armed and idle.cartridge_ms == 0  # armed counts the session ahead, not the gas
    w.rig.trigger = True
    w.run_ms(5000)
    w.rig.trigger = False
    w.tick()
    [ended] = states_of(w.drain())
    assert ended.cartridge_ms == w.rig.pen.gauge.open_ms > 0
    w.run_ms(6000)
    w.drain()
    assert w.rig.pen.new_cartridge(w.rig.t)
    w.tick()
    items = w.drain()
    [change] = records(items, "change")
    assert record.CHANGE_NAMES[change["what"]] == "cartridge"
    assert change["detail"] == "%d mg" % board.CARTRIDGE_MG
    [state] = states_of(items)
    assert state.cartridge_ms == 0 and state.armed
    assert journal.STATE == items[0][0]  # the state goes first


def test_the_gauge_count_round_trips_and_a_version_1_copy_reads_without_it():
    s = store.State(boot_count=2, seq=9, session=4, applications=3, armed=True, open_ms=61000,
                    rest_ms=30000, profile="moderate", cartridge_ms=123456)
    assert store.decode(store.encode(s)) == s
    s.cartridge_ms = -1
    data = store.encode(s)
    assert data[36:40] == b"\xff\xff\xff\xff" and store.decode(data).cartridge_ms == -1
    import binascii
    import struct

    v1 = struct.pack("<4sHHIHBBII12s", b"CPST", 1, 2, 9, 4, 3, 1, 61000, 30000, b"moderate")
    v1 += struct.pack("<I", binascii.crc32(v1) & 0xFFFFFFFF)
    old = store.decode(v1)
    assert old.fields() == (2, 9, 4, 3, True, 61000, 30000, "moderate", -1)
    bad = bytearray(v1)
    bad[4] = 2  # a 40-byte copy that claims version 2 is not one
    body = bytes(bad[:36])
    assert store.decode(body + struct.pack("<I", binascii.crc32(body) & 0xFFFFFFFF)) is None
