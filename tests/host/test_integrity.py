"""The start-up integrity check (hal/integrity.py) on a directory that stands in
for the pen's file system, and the gate in hal/boot.py that runs it: an intact
deploy passes; a flipped byte, a truncated or missing file, an unfinished
deploy, a missing or foreign manifest, a frozen/filesystem mix or an old
MicroPython each give a message (naming the file where a file is wrong), never
an exception; the pen then keeps its valves closed, starts no watchdog and
sounds the high-priority alarm until Ctrl-C. The same module runs under
MicroPython in tests/mpy/test_integrity.py."""
import hashlib
import os
import sys
import types

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from boards.sim import board as sim
from firmware import alarms, signals
from hal import boot as boot_mod, integrity
from host_tools.pens.deploy import manifest_text

FILES = {
    "main.py": b"from hal.boot import boot\nboot(board)\n",
    "firmware/__init__.mpy": b"M\x06\x00\x1f",
    "firmware/pen.mpy": bytes(range(256)) * 3,  # longer than one read chunk
    "hal/boot.mpy": b"M\x06\x00\x1f" + b"\x55" * 700,
    "boards/sim/board.mpy": b"M\x06\x00\x1f" + b"\xaa" * 40,
}


def deploy(root, files=FILES, board="sim"):
    """What `cryopen deploy` leaves on a pen: the files and their manifest."""
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    digests = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    (root / integrity.MANIFEST).write_text(manifest_text(board, digests))
    return root


def check(root, board=sim, version=(1, 29, 0), frozen=lambda name: False):
    fake_sys = types.SimpleNamespace(implementation=types.SimpleNamespace(
        name="micropython", version=version + ("",)), path=["", ".frozen", "/lib"], modules={})
    return integrity.check(board, os, open, fake_sys, str(root) + "/", frozen)


def flip(path, at=0):
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


# --- what passes and what does not ------------------------------------------------------------
def test_an_intact_deploy_passes(tmp_path):
    assert check(deploy(tmp_path)) is None


def test_one_flipped_byte_names_the_file(tmp_path):
    flip(deploy(tmp_path) / "firmware/pen.mpy", at=700)  # in the second chunk
    assert check(tmp_path) == "firmware/pen.mpy differs from the manifest"


def test_a_truncated_file_names_the_file(tmp_path):
    target = deploy(tmp_path) / "hal/boot.mpy"
    target.write_bytes(target.read_bytes()[:512])  # a whole number of chunks
    assert check(tmp_path) == "hal/boot.mpy differs from the manifest"


def test_a_missing_file_names_the_file(tmp_path):
    (deploy(tmp_path) / "boards/sim/board.mpy").unlink()
    assert check(tmp_path) == "boards/sim/board.mpy is missing"


def test_several_bad_files_name_the_first_and_count_the_rest(tmp_path):
    deploy(tmp_path)
    flip(tmp_path / "main.py")
    (tmp_path / "firmware/pen.mpy").unlink()
    assert check(tmp_path) == "firmware/pen.mpy is missing (and 1 more files)"


def test_an_unfinished_deploy_refuses_even_with_matching_files(tmp_path):
    (deploy(tmp_path) / integrity.DEPLOYING).write_text("copying\n")
    assert check(tmp_path) == "a deploy did not finish (/cryopen_deploying is present)"


def test_no_manifest(tmp_path):
    (deploy(tmp_path) / integrity.MANIFEST).unlink()
    assert check(tmp_path).startswith("no manifest (/cryopen_manifest.json)")


@pytest.mark.parametrize("text, problem", [
    ('{"files": {"main.py": "ab', "unreadable"),
    ("\xff\xfe garbage", "unreadable"),
    ('{"files": {}}', "lists no files"),
    ('["main.py"]', "lists no files"),
    ('{"files": {"main.py": 7}}', "malformed"),
    ('{"files": {"main.py": "abc"}}', "malformed"),
])
def test_a_damaged_manifest_is_named(tmp_path, text, problem):
    (deploy(tmp_path) / integrity.MANIFEST).write_bytes(text.encode("latin-1"))
    assert problem in check(tmp_path)


def test_a_manifest_for_another_board_is_refused(tmp_path):
    deploy(tmp_path, board="rp2040_pico")
    assert check(tmp_path) == "the manifest is for board rp2040_pico, this is sim"


def test_a_source_file_that_shadows_a_deployed_module_is_named(tmp_path):
    (deploy(tmp_path) / "firmware/pen.py").write_text("print('old')\n")
    assert check(tmp_path) == "firmware/pen.py shadows the deployed firmware/pen.mpy"


def test_frozen_firmware_with_copies_on_the_file_system_is_a_mix(tmp_path):
    deploy(tmp_path)
    problem = check(tmp_path, frozen=lambda name: name in ("firmware", "hal"))
    assert problem == ("firmware, hal frozen into MicroPython and /firmware, /hal, /boards, "
                       "/cryopen_manifest.json on the file system: the two mix")


def test_a_frozen_build_with_nothing_on_the_file_system_passes(tmp_path):
    assert check(tmp_path, frozen=lambda name: True) is None


def test_a_micropython_older_than_the_board_needs_is_refused(tmp_path):
    deploy(tmp_path)
    assert check(tmp_path, version=(1, 28, 2)) == (
        "MicroPython 1.28.2 is older than the 1.29.0 this board needs")
    newer = types.SimpleNamespace(NAME="sim", MICROPYTHON_MIN=(1, 30, 0))
    assert check(tmp_path, board=newer, version=(1, 29, 9)) == (
        "MicroPython 1.29.9 is older than the 1.30.0 this board needs")
    assert check(tmp_path, board=newer, version=(1, 30, 0)) is None


def test_a_failing_file_system_is_a_message_not_an_exception(tmp_path):
    deploy(tmp_path)

    def broken_open(path, mode="r"):
        if path.endswith(".mpy"):
            raise MemoryError("no room")
        return open(path, mode)

    problem = integrity.check(sim, os, broken_open, sys, str(tmp_path) + "/", lambda n: False)
    assert problem == "the check could not finish (MemoryError: no room)"


def test_sha256_reads_in_chunks_into_the_one_buffer(tmp_path):
    data = os.urandom(3 * 512 + 17)
    (tmp_path / "f").write_bytes(data)
    reads = []

    class Spy:
        def __init__(self, f):
            self.f = f

        def readinto(self, buf):
            reads.append(id(buf))
            return self.f.readinto(buf)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    buf = bytearray(512)
    digest = integrity.sha256(lambda p, m: Spy(open(p, m)), str(tmp_path / "f"), buf)
    assert digest == hashlib.sha256(data).hexdigest()
    assert reads == [id(buf)] * 5  # four chunks, the last partial, and the end


# --- random damage ---------------------------------------------------------------------------------
# Each damaged file: flip one bit of a byte, cut it short, or delete it.
DAMAGE = st.dictionaries(st.sampled_from(sorted(FILES)),
                         st.tuples(st.sampled_from(("flip", "truncate", "delete")),
                                   st.integers(min_value=0, max_value=10 ** 6)),
                         min_size=1)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=DAMAGE)
def test_any_damage_is_reported_by_a_file_it_names_never_by_an_exception(tmp_path, damage):
    root = tmp_path / "pen"
    if root.exists():
        for dirpath, _, names in os.walk(root, topdown=False):
            for name in names:
                os.remove(os.path.join(dirpath, name))
            os.rmdir(dirpath)
    deploy(root)
    for path, (how, n) in damage.items():
        target = root / path
        data = target.read_bytes()
        if how == "delete":
            target.unlink()
        elif how == "truncate":
            target.write_bytes(data[:n % len(data)])
        else:
            flip(target, at=n % len(data))
    problem = check(root)
    assert isinstance(problem, str)
    assert problem.split(" ", 1)[0] == min(damage), problem  # the first damaged file, by name
    if len(damage) > 1:
        assert problem.endswith("(and %d more files)" % (len(damage) - 1))


# --- the alarm and the gate ------------------------------------------------------------------------
class GateHal:
    """What hal.boot.gate uses of the HAL, on a simulated clock; Ctrl-C arrives at stop_ms."""

    def __init__(self, service=False, stop_ms=12000):
        self.service = service
        self.stop_ms = stop_ms
        self.t_ms = 0
        self.tones = []  # (ms, Hz) at each change
        self.log = []

    def service_requested(self):
        self.log.append("service?")
        return self.service

    def close_valves(self):
        self.log.append("close")

    def tone(self, hz):
        if not self.tones or self.tones[-1][1] != hz:
            self.tones.append((self.t_ms, hz))

    def led(self, on):
        pass

    def now_ms(self):
        return self.t_ms

    def sleep_ms(self, ms):
        if self.t_ms + ms >= self.stop_ms:
            self.t_ms = self.stop_ms
            raise KeyboardInterrupt
        self.t_ms += ms


def pulses(tones, until_ms):
    """(start, length) of each tone up to until_ms."""
    found = []
    for (t, hz), (t_next, _) in zip(tones, tones[1:]):
        if hz and t < until_ms:
            found.append((t, t_next - t, hz))
    return found


def test_the_alarm_is_the_high_priority_alarm_of_the_pen(capsys):
    hal = GateHal(stop_ms=10000)
    integrity.refuse(hal, "firmware/pen.mpy differs from the manifest")
    heard = pulses(hal.tones, 10000)
    s = signals.Signals()
    expected, on = [], None
    for t in range(0, 10000, 10):  # the pen's own alarm, as its tick plays it
        hz = s.update(t, alarms.HIGH, -1, 0)
        if hz and on is None:
            on = (t, hz)
        elif not hz and on is not None:
            expected.append((on[0], t - on[0], on[1]))
            on = None
    assert heard == expected
    assert len(heard) == 20  # two bursts of ten
    assert hal.tones[-1][1] == 0  # Ctrl-C leaves it silent
    assert hal.log[0] == "close"
    out = capsys.readouterr().out
    assert out.startswith("cryopen: integrity: firmware/pen.mpy differs from the manifest; "
                          "valves closed; hold reset at power-up for service mode\n")
    assert "the REPL is free" in out


def test_gate_passes_an_intact_pen(monkeypatch, tmp_path):
    monkeypatch.setattr(integrity, "ROOT", str(deploy(tmp_path)) + "/")
    hal = GateHal()
    assert boot_mod.gate(hal, sim) is True
    assert boot_mod.MODE == "run"
    assert hal.tones == []


def test_gate_in_service_mode_checks_nothing_so_a_damaged_pen_can_be_serviced(monkeypatch, tmp_path):
    monkeypatch.setattr(integrity, "ROOT", str(tmp_path) + "/")  # nothing deployed at all
    check = []
    monkeypatch.setattr(integrity, "check", lambda *a, **k: check.append(a))
    hal = GateHal(service=True)
    assert boot_mod.gate(hal, sim) is False
    assert boot_mod.MODE == "service"
    assert check == [] and hal.tones == []


def test_gate_refuses_a_damaged_pen_with_the_alarm(monkeypatch, tmp_path):
    flip(deploy(tmp_path) / "hal/boot.mpy", at=3)
    monkeypatch.setattr(integrity, "ROOT", str(tmp_path) + "/")
    hal = GateHal(stop_ms=6000)
    assert boot_mod.gate(hal, sim) is False
    assert boot_mod.MODE == "refused"
    assert len(pulses(hal.tones, 5000)) == 10


class BootHal(GateHal):
    """MachineHal as boot() sees it, recording what would open a valve or start the watchdog."""

    def __init__(self, board, machine_=None, time_=None):
        super().__init__(stop_ms=6000)
        self.log.append("constructed")

    def __getattr__(self, name):  # valve, master, start_watchdog, backstop_selftest, ...
        def record(*args):
            self.log.append(name)
            raise AssertionError("boot went past the gate: %s" % name)
        return record


def test_boot_on_a_damaged_pen_opens_nothing_and_starts_no_watchdog(monkeypatch, tmp_path):
    deploy(tmp_path)
    (tmp_path / integrity.DEPLOYING).write_text("")
    monkeypatch.setattr(integrity, "ROOT", str(tmp_path) + "/")
    made = []
    monkeypatch.setattr("hal.machine_hal.MachineHal",
                        lambda *args: made.append(BootHal(*args)) or made[-1])
    boot_mod.boot(sim)  # returns after Ctrl-C: the REPL is free
    hal, = made
    assert hal.log == ["constructed", "service?", "close"]
    assert len(pulses(hal.tones, 5000)) == 10
