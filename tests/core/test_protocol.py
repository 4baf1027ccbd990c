"""The host link's protocol (firmware/protocol.py): every command, every error
code, the confirmation at the pen, bounded input and output, and a few hundred
random and damaged lines. Runs under CPython and MicroPython alike."""
import binascii

from boards.sim import board
from firmware import calibration, protocol, states, thermistor
from firmware.protocol import CONFIRM_MS
from tests.core.link_rig import STATES, rig_and_host, snapshot
from tests.core.support import without_allocating

CAL = calibration.nominal(board).as_dict()
# Pens that the tests below leave as they found them (each checks), made once per state.
RIGS = {}


def err_code(reply):
    id_, kind, body = reply
    assert kind == protocol.ERR, reply
    return body.split(" ", 1)[0]


def refused(host, line, code, id_="1"):
    """The line is refused with code, under id_; returns the message."""
    got = host.one(line)
    assert got[0] == id_ and err_code(got) == code, (line, got)
    return got[2].split(" ", 1)[1]


def cal_json(sensors):
    return '{"sensors": [%s]}' % ", ".join(
        '{"a": %r, "b": %r, "c": %r}' % tuple(s) for s in sensors)


def nominal_sensors():
    return [(s["a"], s["b"], s["c"]) for s in CAL["sensors"]]


# --- reading ----------------------------------------------------------------------------
def test_info_names_the_protocol_firmware_board_and_the_shells_facts():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    p.poll(rig.t + 3500)
    id_, kind, info = host.one("12 info")
    assert (id_, kind) == ("12", "ok")
    assert info["protocol"] == protocol.VERSION and info["board"] == "sim"
    assert info["firmware"] == protocol.FIRMWARE_VERSION and info["boot_count"] == 7
    assert info["uptime_s"] == 3


def test_status_reports_the_pen_in_every_state():
    for name in STATES:
        rig, p, host, _ = rig_and_host(name, rigs=RIGS)
        _, kind, st = host.one("1 status")
        assert kind == "ok" and st["state"] == name
        assert st["profile"] == "moderate" and st["target_c"] == -50 and st["floor_c"] == -75
        assert len(st["tip_c"]) == 2 and st["session"] == 1 and st["asking"] is None
        assert st["valve"] == rig.out.valve and st["second_valve"] == rig.out.master
        assert st["raw"] == [rig.pen.sup.s1.last_raw, rig.pen.sup.s2.last_raw]
        assert 0 < st["raw"][0] < 65535 or name == "FAULT"
    assert st["faults"] == ["thermistor_open"] and st["alarm"] == "thermistor_open"
    rig, p, host, _ = rig_and_host("LOCKOUT", rigs=RIGS)
    st = host.one("2 status")[2]
    assert st["applications"] == 1 and 0 < st["rest_left_s"] <= 5
    assert st["valve_open_s"] > 0 and st["gas_used_mg"] > 0


def test_profiles_lists_the_enabled_profiles_and_the_active_one():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    _, kind, doc = host.one("3 profiles")
    assert kind == "ok" and doc["active"] == "moderate"
    assert [d["name"] for d in doc["profiles"]] == [q.name for q in rig.pen.choices]
    assert doc["profiles"][0]["contact_s"] == 20


def test_config_get_returns_what_config_set_takes():
    rig, p, host, _ = rig_and_host(clinic=True)
    doc = host.one("4 config get")[2]
    assert doc["problem"] is None and doc["config"]["start"] == "moderate"
    assert doc["config"]["profiles"][:2] == ["moderate", "short"]
    p.clinic.problem = "stored configuration refused: bad CRC"
    assert host.one("5 config get")[2] == {"config": None,
                                           "problem": "stored configuration refused: bad CRC"}


def test_calibration_get_is_the_boards_curve_until_one_is_set():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    doc = host.one("6 calibration get")[2]
    assert doc["source"] == "board" and doc["next_power_up"] is None
    assert len(doc["sensors"]) == 2 and abs(doc["sensors"][0]["b"] - CAL["sensors"][0]["b"]) < 1e-12


def test_log_answers_a_page_of_the_record_by_index():
    rig, p, host, hooks = rig_and_host(rigs=RIGS)
    _, kind, page = host.one("7 log 0 5")
    assert kind == "ok" and (page["first"], page["end"], page["next"]) == (8, 48, 13)
    assert [r["index"] for r in page["records"]] == [8, 9, 10, 11, 12]
    assert page["records"][0]["kind"] == "session" and page["records"][0]["profile"] == "moderate"
    assert page["records"][3] == {"damaged": "bad CRC", "index": 11, "position": "00000000.bin@704"}
    page = host.one("8 log 44 16")[2]
    assert [r["index"] for r in page["records"]] == [44, 45, 46, 47] and page["next"] == 48
    assert host.one("9 log 48 16")[2]["records"] == []
    assert hooks.calls[-1] == ("records", 48, 16)


def test_clock_set_hands_the_time_to_the_shell():
    rig, p, host, hooks = rig_and_host(rigs=RIGS)
    assert host.one("10 clock set 1800000000") == ("10", "ok", {"wall_s": 1800000000})
    assert hooks.calls == [("clock", 1800000000, rig.t)]


def test_a_valid_checksum_is_accepted_and_every_reply_carries_one():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    line = b"11 status"
    got = host.send(line + (" *%08x\n" % (binascii.crc32(line) & 0xFFFFFFFF)).encode())
    assert got[0][:2] == ("11", "ok")


# --- changes and their confirmation -----------------------------------------------------
def test_select_waits_for_the_press_and_then_changes_the_profile():
    rig, p, host, hooks = rig_and_host()
    before = snapshot(rig.pen, p)
    assert host.one("20 select short") == ("20", "pending", {"request": "select", "detail": "short",
                                                              "confirm_s": 10})
    assert snapshot(rig.pen, p) == before and p.asking() == ("select", "short")
    assert host.one("21 status")[2]["asking"] == {"request": "select", "detail": "short"}
    p.poll(rig.t + CONFIRM_MS - 10)
    assert host.drain() == [] and rig.pen.profile.name == "moderate"
    assert p.confirm(rig.t + CONFIRM_MS - 10)
    assert rig.pen.profile.name == "moderate"  # the tick's press only marks it
    p.poll(rig.t + CONFIRM_MS)
    assert host.drain() == [("20", "confirmed", {"request": "select", "detail": "short"})]
    assert rig.pen.profile.name == "short" and rig.pen.choice == 1
    assert ("save", "profile", "short") in hooks.calls and p.asking() is None


def test_a_change_not_confirmed_in_time_expires_and_changes_nothing():
    rig, p, host, hooks = rig_and_host()
    before = snapshot(rig.pen, p)
    host.one("22 select long")
    p.poll(rig.t + CONFIRM_MS - 1)
    assert host.drain() == []
    assert not p.confirm(rig.t + CONFIRM_MS)  # too late: the press goes to the pen as usual
    p.poll(rig.t + CONFIRM_MS)
    assert host.drain() == [("22", "expired", {"request": "select", "detail": "long"})]
    assert snapshot(rig.pen, p) == before and p.asking() is None
    assert not [c for c in hooks.calls if c[0] == "save"]
    assert not p.confirm(rig.t + CONFIRM_MS + 10)  # nothing waits now


def test_a_change_is_cancelled_when_the_pen_starts_treating():
    rig, p, host, _ = rig_and_host()
    host.one("23 select short")
    rig.press()
    rig.run_ms(100)
    assert states.STATE_NAMES[rig.pen.state] == "TREATING"
    assert not p.confirm(rig.t)
    p.poll(rig.t)
    got = host.drain()
    assert got[0][:2] == ("23", "err") and err_code(got[0]) == protocol.STATE
    assert rig.pen.profile.name == "moderate"


def test_a_confirmed_change_is_still_refused_if_the_pen_left_the_state_first():
    rig, p, host, _ = rig_and_host()
    host.one("24 select short")
    assert p.confirm(rig.t + 10)
    rig.press()
    rig.run_ms(50)
    p.poll(rig.t)
    assert err_code(host.drain()[0]) == protocol.STATE and rig.pen.profile.name == "moderate"


def test_changes_are_refused_while_treating_or_resting():
    lines = ("select short", "config set {\"profiles\": [\"short\"]}",
             "calibration set " + cal_json(nominal_sensors()), "service")
    for name in ("TREATING", "LOCKOUT"):
        rig, p, host, _ = rig_and_host(name, rigs=RIGS)
        before = snapshot(rig.pen, p)
        for line in lines:
            message = refused(host, "1 " + line, protocol.STATE)
            assert name in message
        assert snapshot(rig.pen, p) == before and p.request is None
    rig, p, host, _ = rig_and_host("DONE", rigs=RIGS)  # select and service: IDLE only
    refused(host, "1 select short", protocol.STATE)
    refused(host, "1 service", protocol.STATE)
    rig, p, host, _ = rig_and_host("FAULT", rigs=RIGS)
    refused(host, "1 config set {\"profiles\": [\"short\"]}", protocol.STATE)


def test_config_set_goes_through_the_loader_and_the_clinic():
    rig, p, host, _ = rig_and_host("DONE", clinic=True)
    doc = '{"profiles": ["aftercare", "short"], "start": "aftercare"}'
    assert host.one("30 " + "config set " + doc)[:2] == ("30", "pending")
    assert p.asking() == ("config", "2 profiles, start aftercare")
    assert not p.clinic.installed and rig.pen.profile.name == "moderate"
    assert p.confirm(rig.t + 100)
    p.poll(rig.t + 100)
    assert host.drain()[0] == ("30", "confirmed", {"request": "config", "stored": True,
                                                   "detail": "2 profiles, start aftercare"})
    assert [q.name for q in rig.pen.choices] == ["aftercare", "short"]
    assert rig.pen.profile.name == "aftercare" and len(p.clinic.installed) == 1


def test_config_set_without_a_clinic_holds_for_this_power_up_only():
    rig, p, host, _ = rig_and_host()
    host.one('31 config set {"profiles": ["short", "long"]}')
    p.confirm(rig.t)
    p.poll(rig.t)
    assert host.drain()[0][2]["stored"] is False
    assert [q.name for q in rig.pen.choices] == ["short", "long"]


def test_config_refused_by_the_loader_names_the_field_and_the_limit():
    rig, p, host, _ = rig_and_host(clinic=True, rigs=RIGS)
    custom = ('{"name": "deep", "kind": "freeze", "target_c": -50, "floor_c": -99, "hold_s": 5, '
              '"contact_s": 15, "rest_s": 5, "session_s": 120, "cycles": 4, '
              '"cool_window_s": 1.5, "cool_drop_c": 5}')
    message = refused(host, '1 config set {"profiles": ["deep"], "custom": [%s]}' % custom,
                      protocol.INVALID)
    assert "config.custom[0]" in message and "floor_c" in message and "FLOOR_CC" in message
    message = refused(host, '1 config set {"profiles": ["short"], "colour": 1}', protocol.INVALID)
    assert "colour" in message
    refused(host, "1 config set {\"profiles\": [\"short\"]", protocol.ARGS)  # not JSON
    refused(host, "1 config set [1, 2]", protocol.ARGS)
    refused(host, "1 config set", protocol.ARGS)
    refused(host, "1 config put {}", protocol.ARGS)
    refused(host, "1 config get now", protocol.ARGS)
    assert p.request is None and not p.clinic.installed


def test_calibration_set_is_checked_and_used_from_the_next_power_up():
    rig, p, host, hooks = rig_and_host()
    a, b, c = nominal_sensors()[0]
    sensors = [(a * 1.002, b, c), (a, b, c)]
    assert host.one("40 calibration set " + cal_json(sensors))[1] == "pending"
    p.confirm(rig.t)
    p.poll(rig.t)
    got = host.drain()[0]
    assert got[:2] == ("40", "confirmed") and got[2]["in_use_from"] == "next power-up"
    assert got[2]["stored"] is True and hooks.calls[-1][:2] == ("save", "calibration")
    doc = host.one("41 calibration get")[2]
    assert doc["source"] == "board" and doc["next_power_up"]["source"] == "pen"
    assert doc["next_power_up"]["sensors"][0]["a"] == a * 1.002
    assert p.calibration_next.model(0).a == a * 1.002


def test_calibration_refuses_a_curve_that_is_not_monotonic_or_plausible():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    a, b, c = nominal_sensors()[0]
    good = (a, b, c)
    assert "monotonic" in refused(host, "1 calibration set " + cal_json([good, (a, -b, c)]),
                                  protocol.INVALID)
    message = refused(host, "1 calibration set " + cal_json([(a * 1.2, b, c), good]),
                      protocol.INVALID)
    assert "sensors[0]" in message and "MAX_SHIFT_CC" in message
    refused(host, "1 calibration set " + cal_json([good]), protocol.INVALID)
    refused(host, '1 calibration set {"sensors": [{"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}]}',
            protocol.INVALID)
    refused(host, '1 calibration set {"sensors": [{"a": true, "b": 2, "c": 3}, 4]}',
            protocol.INVALID)
    refused(host, '1 calibration set {"sensors": 5, "x": 1}', protocol.INVALID)
    assert p.request is None and p.calibration_next is None


def test_a_fit_from_swapped_reference_points_is_refused():
    nom = thermistor.model_from_board(board)
    pts = [(t, nom.ohms(t + thermistor.KELVIN)) for t in (-78.5, 0.0, 25.0)]
    swapped = [(pts[1][0], pts[0][1]), (pts[0][0], pts[1][1]), pts[2]]
    fit = thermistor.fit_steinhart_hart(swapped)
    try:
        calibration.check(fit.a, fit.b, fit.c, nom)
    except calibration.CalibrationError:
        return
    raise AssertionError("a swapped fit was accepted")


def test_service_reboots_only_once_confirmed_and_its_reply_is_written():
    rig, p, host, hooks = rig_and_host()
    assert host.one("50 service")[1] == "pending"
    p.confirm(rig.t)
    p.poll(rig.t)
    assert ("service",) not in hooks.calls  # the confirmation is still to be written
    assert host.drain()[0][:2] == ("50", "confirmed")
    p.poll(rig.t + 10)
    assert hooks.calls[-1] == ("service",)


def test_a_second_change_waits_its_turn():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    host.one("60 select short")
    assert "60" in refused(host, "61 select long", protocol.BUSY, "61")
    refused(host, "62 calibration set " + cal_json(nominal_sensors()), protocol.BUSY, "62")
    assert host.one("63 status")[1] == "ok"  # reading is free meanwhile


# --- refusals --------------------------------------------------------------------------
def test_every_error_code_and_nothing_changes():
    rig, p, host, hooks = rig_and_host(rigs=RIGS)
    before = snapshot(rig.pen, p)
    long_line = "1 status " + "x" * protocol.MAX_LINE
    got = host.ask(long_line)
    assert got == [got[0]] and got[0][0] == "-" and err_code(got[0]) == protocol.TOOLONG
    refused(host, "1 sta\x01tus", protocol.FRAMING, "-")
    refused(host, "1 caf\xe9", protocol.FRAMING, "-")
    refused(host, "status", protocol.FRAMING, "-")
    refused(host, "123456789 status", protocol.FRAMING, "-")
    refused(host, "1", protocol.FRAMING)
    refused(host, "1 status *12345678", protocol.CHECKSUM, "-")
    refused(host, "1 status *xyz", protocol.CHECKSUM, "-")
    refused(host, "1 reboot", protocol.UNKNOWN)
    refused(host, "1 status now", protocol.ARGS)
    refused(host, "1 select", protocol.ARGS)
    refused(host, "1 log 1.5 2", protocol.ARGS)
    refused(host, "1 log NaN 2", protocol.ARGS)
    refused(host, "1 clock set", protocol.ARGS)
    refused(host, "1 clock get", protocol.ARGS)
    refused(host, "1 log 0 0", protocol.RANGE)
    refused(host, "1 log 0 17", protocol.RANGE)
    refused(host, "1 log -1 2", protocol.RANGE)
    refused(host, "1 log 99999999999999999999 2", protocol.RANGE)
    refused(host, "1 clock set 1000", protocol.RANGE)
    refused(host, "1 clock set 4294967296", protocol.RANGE)
    refused(host, "1 select frosty", protocol.INVALID)
    hooks.fail = ValueError("driver fault")
    refused(host, "1 log 0 2", protocol.INTERNAL)
    hooks.fail = OSError(5)
    refused(host, "1 log 0 2", protocol.UNSUPPORTED)
    assert snapshot(rig.pen, p) == before and p.request is None
    assert not [c for c in hooks.calls if c[0] in ("save", "clock", "service")]
    # the rest, with a pen whose shell can do none of it
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    p.records = p.clock = p.service = None
    refused(host, "1 log 0 2", protocol.UNSUPPORTED)
    refused(host, "1 clock set 1800000000", protocol.UNSUPPORTED)
    refused(host, "1 service", protocol.UNSUPPORTED)
    host.one("2 select short")
    refused(host, "3 select long", protocol.BUSY, "3")


def test_an_oversize_line_is_answered_once_when_its_newline_comes():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    assert host.send(b"1 " + b"y" * (protocol.MAX_LINE + 500)) == []
    got = host.send(b"z\n")
    assert len(got) == 1 and err_code(got[0]) == protocol.TOOLONG
    assert host.one("2 info")[:2] == ("2", "ok")  # the next line is whole again


def test_blank_lines_and_carriage_returns_ask_nothing():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    assert host.send(b"\n\r\n\n") == []
    assert host.send(b"3 info\r\n")[0][:2] == ("3", "ok")


# --- bounded in, bounded out --------------------------------------------------------
def test_one_feed_takes_at_most_feed_max_bytes_and_one_line():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    assert p.feed(b"1 info\n2 info\n") == len(b"1 info\n")
    assert p.feed(b"x" * 500) == protocol.FEED_MAX
    host.drain()


def test_replies_come_in_chunks_no_larger_than_asked():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    host.chunk = 1
    host.one("1 log 0 16")
    host.chunk = 5000
    got = host.one("2 log 0 16")
    assert len(got[2]["records"]) == 16


def test_a_full_outbox_takes_no_more_input_until_it_is_read():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    taken = 0
    data = b"1 info\n" * 10
    while p.ready():
        taken += p.feed(data[taken:])
    assert taken == len(b"1 info\n") * (protocol.OUT_MAX - 1)
    assert p.feed(data[taken:]) == 0
    assert len(host.drain()) == protocol.OUT_MAX - 1 and p.ready()


def test_a_pending_change_keeps_room_for_its_outcome():
    rig, p, host, _ = rig_and_host(rigs=RIGS)
    p.feed(b"1 select short\n")
    while p.ready():
        p.feed(b"2 info\n")
    p.poll(rig.t + CONFIRM_MS)  # it expires while the outbox is full
    got = host.drain()
    assert [g[1] for g in got] == ["pending"] + ["ok"] * (protocol.OUT_MAX - 2) + ["expired"]


def test_confirm_allocates_nothing_and_answers_false_without_a_request():
    rig, p, host, _ = rig_and_host()
    assert not p.confirm(rig.t)
    host.one("1 select short")
    assert without_allocating(p.confirm, rig.t + 5)


# --- random and damaged lines ------------------------------------------------------------
VALID = ("info", "status", "profiles", "select short", "select aftercare", "config get",
         'config set {"profiles": ["short", "long"], "start": "long"}', "calibration get",
         "calibration set " + cal_json(nominal_sensors()), "log 0 16", "log 20 3",
         "clock set 1800000000", "service")


class Lcg:
    """A small generator of its own, the same on both interpreters."""

    def __init__(self, seed):
        self.s = seed

    def below(self, n):
        self.s = (self.s * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.s >> 8) % n


INSERTS = (b" NaN 1e999 -0 99999999999999999999 ", b"\n", b"[" * 50 + b"{\"a\": " * 20,
           b"\x03", b" *0badf00d", b"\"")


def mutate(rnd, data):
    for _ in range(1 + rnd.below(3)):
        how = rnd.below(5)
        i = rnd.below(len(data) + 1)
        if how == 0:  # a byte lost
            data = data[:i] + data[i + 1:]
        elif how == 1:  # a byte damaged
            data = data[:i] + bytes([rnd.below(256)]) + data[i + 1:]
        elif how == 2:  # a byte more
            data = data[:i] + bytes([rnd.below(256)]) + data[i:]
        elif how == 3:  # cut short
            data = data[:i]
        else:
            data = data[:i] + INSERTS[rnd.below(len(INSERTS))] + data[i:]
    return data


def test_a_few_hundred_random_lines_in_every_state_change_nothing_unconfirmed():
    rnd = Lcg(12345)
    lines = 0
    for name in STATES:
        rig, p, host, hooks = rig_and_host(name, rigs=RIGS)
        before = snapshot(rig.pen, p)
        t = rig.t
        for _ in range(70):
            if rnd.below(5) == 0:
                data = bytes([rnd.below(256) for _ in range(rnd.below(80))])
            else:
                data = mutate(rnd, ("%d %s" % (rnd.below(1000), VALID[rnd.below(len(VALID))]))
                              .encode())
            host.send(data + b"\n")
            t += 997
            p.poll(t)  # expiry runs too; no press ever comes
            lines += 1
        host.drain()
        assert snapshot(rig.pen, p) == before, name
        assert not [c for c in hooks.calls if c[0] in ("save", "service")]
    assert lines == 350
