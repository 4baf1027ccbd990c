"""The core tests under the real MicroPython 1.29 interpreter (tests/mpy/run.mjs,
the WebAssembly port under Node), as one test of the pytest run: `make test` then
spends the half minute they take beside the host tests rather than after them, in
PARTS interpreters at once, each with every PARTS-th module (CRYOPEN_MPY_PART), so
that they end with the rest. `make mpytest` runs them in one, with every line."""
import os
import re
import subprocess
from pathlib import Path

from host_tools.pens.virtual_pen import node_problem

ROOT = Path(__file__).resolve().parents[2]
PARTS = 2
TERMINAL_SUMMARY = []
_COUNT = re.compile(r"^(\S+): (\d+) passed, (\d+) failed$")
_TOTAL = re.compile(r"^(\d+) passed, (\d+) failed$")


def _start(part):
    env = dict(os.environ, CRYOPEN_MPY_PART="%d/%d" % (part, PARTS))
    return subprocess.Popen(["node", str(ROOT / "tests" / "mpy" / "run.mjs")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_the_core_tests_pass_under_micropython():
    problem = node_problem()
    assert problem is None, problem
    runs = [_start(part) for part in range(1, PARTS + 1)]
    outputs = [proc.communicate(timeout=600) for proc in runs]  # all end before any check
    modules, passed, failed, said = [], 0, 0, []
    for proc, (out, err) in zip(runs, outputs):
        lines = out.splitlines()
        modules += [m.groups() for m in map(_COUNT.match, lines) if m]
        totals = [m.groups() for m in map(_TOTAL.match, lines) if m]
        said.append("\n".join(lines[-40:]) + "\n" + err[-3000:])
        assert totals, "no total line from tests/mpy/run.mjs:\n" + said[-1]
        assert proc.returncode == 0, said[-1]
        passed += int(totals[-1][0])
        failed += int(totals[-1][1])
    failing = [name for name, _, f in modules if f != "0"]
    TERMINAL_SUMMARY.append("core tests under MicroPython 1.29: %d modules, %d passed, %d failed%s"
                            % (len(modules), passed, failed,
                               " (%s)" % ", ".join(failing) if failing else ""))
    assert failed == 0 and passed > 0 and not failing, "\n".join(said)
