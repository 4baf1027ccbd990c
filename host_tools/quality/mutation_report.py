"""The report of `make mutation`: the kill rate per module and in total from mutmut 2's
caches, and each surviving mutant as a one-line change, marked when the README's
table of equivalent mutants explains it. Exit status 1 when fewer than THRESHOLD % of
the mutants that table does not explain are killed, or when a mutant was never run.

    python -m host_tools.quality.mutation_report [CACHE ...]

With no argument it reads the caches `make mutation` left under build/mutation/.
A mutant counts as killed when the tests failed on it: also when they failed only
after a long time (mutmut's "suspicious") or ran past ten times their usual time
(mutmut's "timeout": the mutant hangs them).

A row of the README's table names a module and one or more changes, each written
`before` → `after` (more afters separated by commas): a fragment of the line that
mutmut changed and what it made of it.
"""
import glob
import os
import re
import sqlite3
import sys

from host_tools import paths

THRESHOLD = 97.0
README = os.path.join(str(paths.ROOT), "README.md")
SECTION = "### Mutation testing"
KILLED = ("ok_killed", "ok_suspicious", "bad_timeout")
SURVIVED = ("bad_survived",)


def rows(cache):
    """(filename, line number from 0, line text, index on the line, status) per mutant."""
    db = sqlite3.connect("file:%s?mode=ro" % cache, uri=True)
    try:
        return db.execute('SELECT f.filename, l.line_number, l.line, m."index", m.status '
                          "FROM Mutant m JOIN Line l ON m.line = l.id "
                          "JOIN SourceFile f ON l.sourcefile = f.id").fetchall()
    finally:
        db.close()


def change(source, filename, line_number, line, index):
    """(before, after): the lines mutmut changes, as it writes the mutant, each joined
    into one line (a mutant of a condition over two lines joins them)."""
    from mutmut import Context, RelativeMutationID, mutate

    context = Context(mutation_id=RelativeMutationID(line, index, line_number),
                      filename=filename, source=source, dict_synonyms=[])
    mutated, _ = mutate(context)
    old, new = source.splitlines(), mutated.splitlines()
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end_old, end_new = len(old), len(new)
    while end_old > start and end_new > start and old[end_old - 1] == new[end_new - 1]:
        end_old -= 1
        end_new -= 1
    return (" ".join(l.strip() for l in old[start:end_old]),
            " ".join(l.strip() for l in new[start:end_new]))


def equivalents(readme_text):
    """[(module file name, before, after)] from the README's table of equivalent mutants."""
    text = readme_text.split(SECTION, 1)[-1].split("\n#", 1)[0]
    found = []
    for line in text.splitlines():
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)]
        if len(cells) < 4 or not re.fullmatch(r"`[a-z_]+\.py`", cells[1]):
            continue
        for before, afters in re.findall(r"`([^`]+)` \u2192 ((?:`[^`]+`(?:, )?)+)", cells[2]):
            for after in re.findall(r"`([^`]+)`", afters):
                found.append((cells[1].strip("`"), before, after))
    return found


def explained(listed, filename, old, new):
    """Whether a README row turns the line old into new by replacing one fragment."""
    module = os.path.basename(filename)
    for name, before, after in listed:
        if name != module:
            continue
        i = old.find(before)
        while i >= 0:
            if old[:i] + after + old[i + len(before):] == new:
                return True
            i = old.find(before, i + 1)
    return False


def main(caches=None, readme=README):
    caches = caches or sorted(glob.glob("build/mutation/*/.mutmut-cache")) or [".mutmut-cache"]
    with open(readme) as f:
        listed = equivalents(f.read())
    modules = {}  # filename -> [killed, survived, of them equivalent, not run, by timeout]
    survivors = []
    for cache in caches:
        if not os.path.exists(cache):
            print("no mutmut cache at %s: run `make mutation`" % cache)
            return 1
        base = os.path.dirname(os.path.abspath(cache))
        for filename, line_number, line, index, status in rows(cache):
            counts = modules.setdefault(filename, [0, 0, 0, 0, 0])
            if status in KILLED:
                counts[0] += 1
                counts[4] += status == "bad_timeout"
            elif status in SURVIVED:
                counts[1] += 1
                survivors.append((filename, line_number, line, index, base))
            else:  # untested or skipped: the run did not finish
                counts[3] += 1
    sources = {}
    unexplained = 0
    for filename, line_number, line, index, base in sorted(survivors):
        path = os.path.join(base, filename)
        if path not in sources:
            with open(path) as f:
                sources[path] = f.read()
        old, new = change(sources[path], filename, line_number, line, index)
        if explained(listed, filename, old, new):
            modules[filename][2] += 1
            mark = "equivalent (README)"
        else:
            unexplained += 1
            mark = "NOT EXPLAINED: a missing test, or a row in the README"
        print("survived: %s:%d, %s\n    - %s\n    + %s" % (
            filename, line_number + 1, mark, old, new))
    totals = [0, 0, 0, 0]
    for filename in sorted(modules):
        k, s_, e, n, t = modules[filename]
        for i, v in enumerate((k, s_, e, n)):
            totals[i] += v
        print("%-24s %5.1f %% killed (%d of %d), %d equivalent, %5.1f %% of the rest%s%s" % (
            filename, 100.0 * k / max(k + s_, 1), k, k + s_, e, 100.0 * k / max(k + s_ - e, 1),
            ", %d by timeout" % t if t else "", ", %d NOT RUN" % n if n else ""))
    killed, survived, equivalent, not_run = totals
    score = 100.0 * killed / max(killed + survived - equivalent, 1)
    print("mutation kill rate: %.1f %% (%d killed of %d mutants); %d survivors equivalent "
          "(README); %.1f %% of the other %d killed" % (
              100.0 * killed / max(killed + survived, 1), killed, killed + survived, equivalent,
              score, killed + survived - equivalent))
    status = 0
    if not_run:
        print("%d mutants were not run: the run did not finish" % not_run)
        status = 1
    if unexplained:
        print("%d survivors not explained by the README" % unexplained)
    if score < THRESHOLD:
        print("below %.0f %% of the non-equivalent mutants killed" % THRESHOLD)
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
