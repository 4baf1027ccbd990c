"""Prints the kill rate of the last `make mutation` run (mutmut 2's .mutmut-cache)
and the surviving mutants, so each can be judged: a missing test, or equivalent."""
import sqlite3
import subprocess
import sys

KILLED = ("ok_killed",)
COUNTED = ("ok_killed", "bad_survived", "bad_timeout", "ok_suspicious")


def main(path=".mutmut-cache"):
    db = sqlite3.connect(path)
    rows = db.execute("SELECT m.id, m.status, l.line_number, f.filename FROM Mutant m "
                      "JOIN Line l ON m.line = l.id JOIN SourceFile f ON l.sourcefile = f.id").fetchall()
    counted = [r for r in rows if r[1] in COUNTED]
    killed = [r for r in counted if r[1] in KILLED]
    survivors = [r for r in counted if r[1] not in KILLED]
    for mid, status, line, filename in sorted(survivors, key=lambda r: (r[3], r[2])):
        print("survived: #%d %s:%d (%s)" % (mid, filename, line + 1, status))
        diff = subprocess.run([sys.executable, "-m", "mutmut", "show", str(mid)],
                              capture_output=True, text=True).stdout
        print("\n".join("    " + l for l in diff.splitlines() if l.startswith(("-", "+"))
                        and not l.startswith(("---", "+++"))))
    rate = 100.0 * len(killed) / len(counted) if counted else 0.0
    print("mutation kill rate: %.1f %% (%d killed of %d mutants)" % (rate, len(killed), len(counted)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
