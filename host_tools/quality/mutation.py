"""`make mutation`: mutation testing of the safety core with mutmut 2.

mutmut writes each mutant into the file it mutates, so it never runs in the working
tree: the tree is copied once (build/mutation/tree), and each module is mutated in
its own copy of that under build/mutation/, one module per core at a time
(CRYOPEN_MUTATION_JOBS, default the number of cores), the largest first. No bytecode
cache (none is copied, none is written): a mutant of the same size written within
the second would otherwise run the cached original. Each mutant runs
host_tools/quality/mutation_runner.py. Then the report
(host_tools/quality/mutation_report.py): per module and in total, every survivor,
and exit status 1 below its threshold.

    python -m host_tools.quality.mutation firmware/MODULE.py ...
"""
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

from host_tools import paths
from host_tools.quality import mutation_report

ROOT = str(paths.ROOT)
# CRYOPEN_MUTATION_OUT: another folder, for two runs at once (each clears its own).
OUT = os.environ.get("CRYOPEN_MUTATION_OUT") or os.path.join(ROOT, "build", "mutation")
TREE = os.path.join(OUT, "tree")  # the tree as the run began: every module sees the same
_NOT_COPIED = shutil.ignore_patterns(".git", ".venv", "node_modules", "build", "out", ".hypothesis",
                                     "__pycache__", "*.egg-info", ".mutmut-cache", "mutants")


def count_mutants(path):
    from mutmut import Context, list_mutations

    with open(path) as f:
        return len(list_mutations(Context(source=f.read(), filename=path, dict_synonyms=[])))


def start(module):
    """A copy of the tree and mutmut running on module in it (output in mutmut.log)."""
    where = os.path.join(OUT, os.path.splitext(os.path.basename(module))[0])
    shutil.copytree(TREE, where)
    env = dict(os.environ, PYTHONPATH=where, PYTHONDONTWRITEBYTECODE="1", CRYOPEN_MUTATING=module)
    runner = "%s -m host_tools.quality.mutation_runner" % shlex.quote(sys.executable)
    log = open(os.path.join(where, "mutmut.log"), "w")
    cmd = [sys.executable, "-m", "mutmut", "run", "--paths-to-mutate", module, "--runner", runner,
           "--simple-output", "--no-progress"]
    # A session of its own: stopping the run stops mutmut's worker and test runs too.
    proc = subprocess.Popen(cmd, cwd=where, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    return proc, log, where, time.monotonic()


def main(modules):
    jobs = int(os.environ.get("CRYOPEN_MUTATION_JOBS") or os.cpu_count() or 1)
    shutil.rmtree(OUT, ignore_errors=True)
    shutil.copytree(ROOT, TREE, ignore=_NOT_COPIED)
    sizes = {m: count_mutants(os.path.join(TREE, m)) for m in modules}
    queue = sorted(modules, key=lambda m: -sizes[m])
    running, caches, failed = {}, [], []
    began = time.monotonic()
    print("mutation testing %d mutants of %d modules, %d at a time" % (
        sum(sizes.values()), len(modules), jobs), flush=True)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                module = queue.pop(0)
                running[module] = start(module)
            time.sleep(0.5)
            for module, (proc, log, where, t0) in list(running.items()):
                if proc.poll() is None:
                    continue
                del running[module]
                log.close()
                # mutmut's status adds 2, 4 and 8 for survivors, timeouts and slow kills;
                # 1 is an error.
                if proc.returncode & 1 or proc.returncode < 0:
                    failed.append(module)
                    print("%s: mutmut failed (status %d), see %s" % (
                        module, proc.returncode, os.path.join(where, "mutmut.log")), flush=True)
                else:
                    print("%s: %d mutants in %.0f s" % (
                        module, sizes[module], time.monotonic() - t0), flush=True)
                caches.append(os.path.join(where, ".mutmut-cache"))
    finally:
        for proc, log, _, _ in running.values():  # interrupted: stop what still runs
            os.killpg(proc.pid, signal.SIGTERM)
            log.close()
    print("all modules in %.0f s" % (time.monotonic() - began))
    status = mutation_report.main(caches)
    return 1 if failed else status


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m host_tools.quality.mutation firmware/MODULE.py ...")
    sys.exit(main(sys.argv[1:]))
