"""The start-up check of the pen's own program (IEC 60730-1 Annex H: program
memory checked at start-up), run by hal.boot after the HAL has closed the valves
and before anything can open them, at every power-up and reset.

`cryopen deploy` writes /cryopen_manifest.json (each deployed file's path and
SHA-256) and holds /cryopen_deploying on the pen while it copies. check() returns
None when the firmware on the pen is the one the manifest describes, complete,
and runs on a MicroPython the board supports; otherwise a short message that
says what is wrong, naming the file where a file is wrong:

- a deploy that did not finish (/cryopen_deploying present);
- a MicroPython older than the board's MICROPYTHON_MIN;
- the firmware frozen into the MicroPython build and copies of it on the file
  system as well: frozen boot.py and main.py run, imports prefer the files, so
  the pen would run a mixture (py/builtinimport.c, shared/runtime/pyexec.c);
- no manifest, an unreadable one, one for another board;
- a file missing, or whose SHA-256 differs from the manifest's, or a .py that
  shadows a deployed .mpy (imports try the .py first).

Nothing here raises: a check that cannot finish has not proved the files, and
says so. The file system comes in as an `os`-like object, `open` and a root, so
the host tests run the same function against a directory. refuse() keeps the
valves closed and sounds the high-priority alarm until Ctrl-C (mpremote), which
leaves the REPL free for service. It depends on no firmware module but
firmware.compat, so it still sounds when the firmware files are the damage.
"""
import binascii
import hashlib
import json

from firmware.compat import const

MANIFEST = "cryopen_manifest.json"
DEPLOYING = "cryopen_deploying"
ROOT = "/"  # the pen's file system; the host tests point it at a directory
MICROPYTHON_MIN = (1, 29, 0)  # when the board names none
PACKAGES = ("firmware", "hal", "boards")  # what a frozen build holds (boards/manifest.py)

_CHUNK = const(512)  # bytes read per call, into one buffer
_HEX_LEN = const(64)

# The alarm: IEC 60601-1-8 high priority, as firmware/signals.py plays it (tests compare).
ALARM_HZ = const(880)
ALARM_PULSES = const(10)
ALARM_ON_MS = const(100)
ALARM_OFF_MS = const(100)
ALARM_PERIOD_MS = const(5000)


class _Refused(Exception):
    pass


def check(board, os_=None, open_=None, sys_=None, root=None, frozen=None):
    """None when the deployed firmware is intact, else what is wrong (a short str).

    os_, open_ and sys_ stand in for the `os` module, `open` and `sys`; root is
    the directory that holds the pen's files (ROOT unless given); frozen(name)
    says whether the build has the package `name` frozen in (frozen_package
    unless given)."""
    if os_ is None:
        import os
    else:
        os = os_
    if open_ is None:
        open_ = open
    if sys_ is None:
        import sys
    else:
        sys = sys_
    if root is None:
        root = ROOT
    try:
        _check(board, os, open_, sys, root, frozen)
    except _Refused as e:
        return e.args[0]
    except Exception as e:  # MemoryError, a damaged manifest's types, a failing driver
        return "the check could not finish (%s: %s)" % (type(e).__name__, e)
    return None


def _check(board, os, open_, sys, root, frozen):
    if _exists(os, root + DEPLOYING):
        raise _Refused("a deploy did not finish (/%s is present)" % DEPLOYING)
    _check_version(board, sys)
    frozen_in = [p for p in PACKAGES if (frozen_package(sys, p) if frozen is None else frozen(p))]
    if frozen_in:
        on_fs = [p for p in PACKAGES + (MANIFEST,) if _exists(os, root + p)]
        if on_fs:
            raise _Refused("%s frozen into MicroPython and /%s on the file system: the two mix"
                           % (", ".join(frozen_in), ", /".join(on_fs)))
        return  # a frozen build: the modules came with the MicroPython image
    files = _manifest(board, open_, root)
    buf = bytearray(_CHUNK)
    first = None
    bad = 0
    for path in sorted(files):
        problem = _check_file(os, open_, root, path, files[path], buf)
        if problem is not None:
            bad += 1
            if first is None:
                first = problem
    if bad > 1:
        raise _Refused("%s (and %d more files)" % (first, bad - 1))
    if first is not None:
        raise _Refused(first)


def _check_version(board, sys):
    need = tuple(getattr(board, "MICROPYTHON_MIN", MICROPYTHON_MIN))
    have = tuple(sys.implementation.version[:3])
    if have < need:
        raise _Refused("MicroPython %s is older than the %s this board needs"
                       % (_dotted(have), _dotted(need)))


def _dotted(version):
    return ".".join(str(n) for n in version)


def _manifest(board, open_, root):
    """The manifest's files (path -> hex SHA-256), checked for shape."""
    try:
        f = open_(root + MANIFEST, "r")
    except OSError:
        raise _Refused("no manifest (/%s): deploy the firmware with cryopen deploy" % MANIFEST)
    try:
        with f:
            manifest = json.load(f)
    except (OSError, ValueError):
        raise _Refused("the manifest (/%s) is unreadable" % MANIFEST)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not files:
        raise _Refused("the manifest (/%s) lists no files" % MANIFEST)
    for path in files:
        digest = files[path]
        if not isinstance(path, str) or not isinstance(digest, str) or len(digest) != _HEX_LEN:
            raise _Refused("the manifest (/%s) is malformed" % MANIFEST)
    name = manifest.get("board")
    mine = getattr(board, "NAME", None)
    if name is not None and mine is not None and name != mine:
        raise _Refused("the manifest is for board %s, this is %s" % (name, mine))
    return files


def _check_file(os, open_, root, path, want, buf):
    got = sha256(open_, root + path, buf)
    if got is None:
        return "%s is missing" % path
    if got != want:
        return "%s differs from the manifest" % path
    if path.endswith(".mpy") and _exists(os, root + path[:-4] + ".py"):
        return "%s.py shadows the deployed %s" % (path[:-4], path)
    return None


def sha256(open_, path, buf):
    """Hex SHA-256 of a file, read in chunks into buf; None if it cannot be opened."""
    try:
        f = open_(path, "rb")
    except OSError:
        return None
    h = hashlib.sha256()
    view = memoryview(buf)
    size = len(buf)
    with f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(buf if n == size else view[:n])
    return binascii.hexlify(h.digest()).decode()


def _exists(os, path):
    try:
        os.stat(path)
    except OSError:
        return False
    return True


def frozen_package(sys, name):
    """True when the MicroPython image has the package `name` frozen in. MicroPython
    searches its frozen modules under the '.frozen' entry of sys.path
    (py/builtinimport.c), so an import with sys.path holding that entry alone
    finds the frozen package or nothing. sys.path and sys.modules are restored."""
    path = sys.path
    if ".frozen" not in path:
        return False
    saved = list(path)
    modules = sys.modules
    loaded = modules.pop(name, None)
    path.clear()
    path.append(".frozen")
    try:
        __import__(name)
        found = True
    except ImportError:
        found = False
    except Exception:  # it is there, and fails on its own
        found = True
    finally:
        path.clear()
        path.extend(saved)
        modules.pop(name, None)
        if loaded is not None:
            modules[name] = loaded
    return found


def refuse(hal, problem):
    """The pen will not treat: valves closed, the message on the console, and the
    high-priority alarm until Ctrl-C. No watchdog runs (boot has not started it),
    so the REPL stays free for service afterwards."""
    hal.close_valves()
    print("cryopen: integrity: %s; valves closed; hold reset at power-up for service mode"
          % problem)
    gap_ms = ALARM_PERIOD_MS - ALARM_PULSES * (ALARM_ON_MS + ALARM_OFF_MS)
    try:
        while True:
            for _ in range(ALARM_PULSES):
                hal.tone(ALARM_HZ)
                hal.led(True)
                hal.sleep_ms(ALARM_ON_MS)
                hal.tone(0)
                hal.led(False)
                hal.sleep_ms(ALARM_OFF_MS)
            hal.sleep_ms(gap_ms)
    except KeyboardInterrupt:
        print("cryopen: alarm silenced; valves closed; the REPL is free for service")
    finally:
        hal.tone(0)
        hal.led(False)
