"""Which repository files go onto a pen, and where.

device_files(board) -> [(source, destination)]: source is the file's absolute
path on the host, destination its path from the root of the pen's filesystem
(no leading slash, as mpremote's ":path" and `cryopen deploy` take it).

A real board gets the firmware core, the device HAL and its board package, and
its boot.py and main.py at the root (MicroPython runs boot.py first: it drives the
valve pins low before main.py loads anything). The "sim" board is the virtual pen on the
MicroPython WebAssembly port, which has no `machine`: it gets the core, the
fake HAL and the sim board package instead.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIM = "sim"
DEVICE_HAL = ("__init__.py", "machine_hal.py", "boot.py")
SIM_HAL = ("__init__.py", "fake.py")


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
        paths += sorted(board_dir.glob("*.py"))
        return [_same_place(p) for p in paths]
    paths += [board_dir / "__init__.py", board_dir / "board.py"]
    return [_same_place(p) for p in paths] + [(str(board_dir / name), name)
                                              for name in ("boot.py", "main.py")]


def _same_place(path):
    return str(path), path.relative_to(ROOT).as_posix()
