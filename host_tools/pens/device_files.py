"""Which repository files go onto a pen, and where.

device_files(board) -> [(source, destination)]: source is the file's absolute
path on the host, destination its path from the root of the pen's filesystem
(no leading slash, as mpremote's ":path" and `cryopen deploy` take it).

A real board gets the firmware core, the device HAL (with the boot sequence and
its start-up integrity check) and its board package, and its boot.py and main.py
at the root (MicroPython runs boot.py first: it drives the valve pins low before
main.py loads anything). The "sim" board is the virtual pen on the MicroPython
WebAssembly port, whose `machine` is the virtual pen's own: it gets the core, the
fake HAL, the boot gate and integrity check, the sim board package, and the sim's
main.py at the root, which runs the gate at power-up.
"""
from pathlib import Path

from host_tools.paths import ROOT  # noqa: F401 (imported from here by the other pen tools)
SIM = "sim"
DEVICE_HAL = ("__init__.py", "machine_hal.py", "boot.py", "integrity.py", "storage.py",
              "display.py", "link.py")
SIM_HAL = ("__init__.py", "fake.py", "boot.py", "integrity.py", "storage.py", "link.py")
RUN_BY_NAME = ("boot.py", "main.py")  # at the root of the pen, run by MicroPython itself


class UnknownBoard(ValueError):
    pass


def boards():
    """Names of the boards in boards/ (each a package with a board.py)."""
    return sorted(p.parent.name for p in (ROOT / "boards").glob("*/board.py"))


def device_files(board_name):
    board_dir = ROOT / "boards" / board_name
    if not (board_dir / "board.py").is_file():
        raise UnknownBoard("no board named '%s'; known: %s" % (board_name, ", ".join(boards())))
    sim = board_name == SIM
    paths = sorted((ROOT / "firmware").glob("*.py"))
    paths += [ROOT / "hal" / name for name in (SIM_HAL if sim else DEVICE_HAL)]
    paths += [ROOT / "boards" / "__init__.py", ROOT / "boards" / "reference_pen.py"]
    if sim:
        paths += sorted(p for p in board_dir.glob("*.py") if p.name not in RUN_BY_NAME)
    else:
        paths += [board_dir / "__init__.py", board_dir / "board.py"]
    return [_same_place(p) for p in paths] + [(str(board_dir / name), name)
                                              for name in RUN_BY_NAME
                                              if (board_dir / name).is_file()]


def _same_place(path):
    return str(path), path.relative_to(ROOT).as_posix()
