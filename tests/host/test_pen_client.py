"""`cryopen pen` and `cryopen calibrate` against the pen's real protocol handler
(firmware/protocol.py) on a bench pen, and against pens that answer garbage: every
failure is a message and a non-zero status, never a traceback."""
import argparse
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from host_tools.pens import calibrate, link_client, pen_cmd
from tests.core.link_rig import rig_and_host, snapshot


class BenchStream:
    """A serial port whose far end is the protocol handler: what the host writes is
    fed to it, what it answers is read back. press: the clinician confirms each change
    the pen asks about (None: nobody does, and the pen's 10 s run out)."""

    def __init__(self, proto, rig, press=True):
        self.proto = proto
        self.rig = rig
        self.press = press
        self.written = b""

    def write(self, data):
        self.written += data
        while data:
            n = self.proto.feed(data)
            data = data[n:]
            if n == 0:
                self._drain()

    def read(self, n):
        if self.proto.request is not None:
            if self.press:
                self.proto.confirm(self.rig.t)
            else:
                self.rig.run_ms(1000)
            self.proto.poll(self.rig.t)
        return self._drain(n)

    def _drain(self, n=1 << 16):
        out = b""
        while len(out) < n:
            c = self.proto.chunk(n - len(out))
            if c is None:
                break
            out += bytes(c)
            self.proto.sent(len(c))
        self.buffered = out
        return out

    def close(self):
        pass


class ScriptedStream:
    """A 'pen' that answers whatever it is told to, whatever was asked."""

    def __init__(self, answer):
        self.answer = answer

    def write(self, data):
        pass

    def read(self, n):
        out, self.answer = self.answer[:n], self.answer[n:]
        return out

    def close(self):
        pass


def args(action, *words, **kw):
    ns = dict(action=action, words=list(words), port="bench", json=True, start=0, count=None,
              csv=None, out=None, seconds=None, plot=None)
    ns.update(kw)
    return argparse.Namespace(**ns)


def bench(state="IDLE", press=True):
    rig, proto, _, hooks = rig_and_host(state, clinic=True)
    return rig, proto, hooks, link_client.PenLink(stream=BenchStream(proto, rig, press))


def test_info_and_status_answer_as_json(capsys):
    rig, proto, hooks, link = bench()
    assert pen_cmd.run(args("info"), link) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["board"] == "sim" and info["protocol"] >= 1
    rig, proto, hooks, link = bench()
    assert pen_cmd.run(args("status"), link) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["state"] == "IDLE" and status["profile"] == rig.pen.profile.name


def test_select_changes_the_profile_only_once_confirmed_at_the_pen(capsys):
    rig, proto, hooks, link = bench()
    assert pen_cmd.run(args("select", "short"), link) == 0
    assert rig.pen.profile.name == "short"
    rig, proto, hooks, link = bench(press=False)
    before = snapshot(rig.pen)
    assert pen_cmd.run(args("select", "short"), link) == 1
    assert "nothing changed" in capsys.readouterr().err
    assert snapshot(rig.pen)[1:] == before[1:] and rig.pen.profile.name != "short"


def test_select_is_refused_while_treating(capsys):
    rig, proto, hooks, link = bench("TREATING")
    assert pen_cmd.run(args("select", "short"), link) == 1
    assert "STATE" in capsys.readouterr().err


def test_log_reads_every_page_and_exports(tmp_path, capsys):
    rig, proto, hooks, link = bench()
    out = tmp_path / "log.json"
    csv_path = tmp_path / "log.csv"
    assert pen_cmd.run(args("log", out=str(out), csv=str(csv_path)), link) == 0
    doc = json.loads(out.read_text())
    assert len(doc["records"]) == len(hooks.raw) - 1 and len(doc["damaged"]) == 1
    assert [r["kind"] for r in doc["records"]] == ["session"] * (len(hooks.raw) - 1)
    assert csv_path.read_text().count("\n") == len(hooks.raw)  # the header and the records
    assert [c[0] for c in hooks.calls if c[0] == "records"] == ["records"] * 3  # pages of 16


@pytest.mark.parametrize("answer, message", [
    (b"", "no answer"),
    (b"cryopen: no valid stored state: cold start\r\n", "no answer"),
    (b"\xff" * 2000, "no answer"),
])
def test_a_pen_that_does_not_answer_is_a_message(answer, message, capsys, monkeypatch):
    monkeypatch.setattr(link_client, "REPLY_TIMEOUT_S", 0.02)
    link = link_client.PenLink(stream=ScriptedStream(answer))
    assert pen_cmd.run(args("status"), link) == 2
    assert message in capsys.readouterr().err


def _reply(id_, kind, body):
    text = ("%s %s %s" % (id_, kind, body)).encode()
    return text + b" *" + link_client.crc_hex(text).encode() + b"\n"


def test_a_checked_reply_that_is_not_json_is_a_message(capsys, monkeypatch):
    link = link_client.PenLink(stream=ScriptedStream(b""))
    id_ = str(next(link._ids) + 1)
    link.stream = ScriptedStream(_reply(id_, "ok", "{not json"))
    assert pen_cmd.run(args("info"), link) == 2
    assert "not JSON" in capsys.readouterr().err


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300), st.sampled_from(["info", "status", "profiles", "log"]))
def test_garbage_from_the_pen_never_raises(garbage, action):
    link_client.REPLY_TIMEOUT_S, saved = 0.005, link_client.REPLY_TIMEOUT_S
    try:
        status = pen_cmd.run(args(action), link_client.PenLink(stream=ScriptedStream(garbage)))
    finally:
        link_client.REPLY_TIMEOUT_S = saved
    assert status == 2


def test_no_port_is_a_message(capsys):
    assert pen_cmd.run(args("info", port="/dev/no-such-pen")) == 2
    assert "cannot open /dev/no-such-pen" in capsys.readouterr().err


def test_calibrate_refuses_swapped_baths_before_sending_anything():
    nominal = (1.1524e-3, 3.1431e-4, 6.3235e-8)
    points = [(0.0, calibrate.ohms_at(nominal, -78.5)), (-78.5, calibrate.ohms_at(nominal, 0.0)),
              (22.0, calibrate.ohms_at(nominal, 22.0))]
    with pytest.raises(calibrate.CalibrationRefused, match="swapped"):
        calibrate.check(calibrate.fit(points, nominal), points, 1)


def test_calibrate_fits_the_nominal_curve_back():
    nominal = (1.1524e-3, 3.1431e-4, 6.3235e-8)
    points = [(t, calibrate.ohms_at(nominal, t)) for t in (0.0, -78.5, 22.0)]
    fitted = calibrate.fit(points, nominal)
    calibrate.check(fitted, points, 1)
    assert calibrate.largest_change(nominal, fitted)[0] < 0.01
