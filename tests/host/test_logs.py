"""`cryopen logs` turns a trace into the events a reviewer needs."""
from host_tools import cli
from tests.host.scenario_run import simulate


def log_lines(name, tmp_path, capsys):
    simulate(name, tmp_path)
    capsys.readouterr()
    assert cli.main(["logs", str(tmp_path / (name + ".csv"))]) == 0
    return capsys.readouterr().out.splitlines()


def test_log_shows_the_fault_its_alarm_and_the_reset(tmp_path, capsys):
    lines = log_lines("thermistor_open", tmp_path, capsys)
    assert any("3.00 s  fault latched: thermistor_open (high priority)" in l for l in lines)
    assert any("3.00 s  TREATING -> FAULT  end: fault after 2.00 s" in l for l in lines)
    assert any("7.00 s  FAULT -> LOCKOUT" in l for l in lines)


def test_log_shows_the_hardware_closing_the_valve(tmp_path, capsys):
    lines = log_lines("loop_hang_backstop", tmp_path, capsys)
    assert any("valve closed by the hardware while commanded open" in l for l in lines)
