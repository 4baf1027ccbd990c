"""Keeps docs/SAFETY.md honest: its alarm section is rendered from
firmware/alarms.py, and its hazard rows name functions and tests that exist.

    python -m host_tools.quality.safety_doc     rewrite the alarm section in place
"""
import importlib
import os
import re

from firmware import alarms
from host_tools import paths

ROOT = str(paths.ROOT)
DOC = os.path.join(ROOT, "docs", "SAFETY.md")
BEGIN, END = "<!-- alarms:begin -->", "<!-- alarms:end -->"


def alarm_table():
    lines = ["| code | name | priority | latches | shown to the clinician |", "|---|---|---|---|---|"]
    for code, name, _, prio, latching, text in alarms.TABLE:
        lines.append("| %d | `%s` | %s | %s | %s |" % (
            code, name, alarms.PRIORITY_NAMES[prio], "yes" if latching else "no", text))
    return "\n".join(lines)


def alarm_section(doc_text):
    return doc_text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def hazard_rows(doc_text):
    """(id, mitigation names, test references) for each hazard row."""
    rows = []
    for line in doc_text.splitlines():
        m = re.match(r"\|\s*(H\d+)\s*\|[^|]*\|([^|]*)\|([^|]*)\|", line)
        if m:
            code = lambda cell: re.findall(r"`([^`]+)`", cell)
            rows.append((m.group(1), code(m.group(2)), code(m.group(3))))
    return rows


def named_tests(doc_text):
    """Every test the document names (hazard rows and the FMEA table), as path::name."""
    return sorted(set(re.findall(r"`(tests/[\w/]+\.py::\w+)`", doc_text)))


def fmea_rows(doc_text):
    """The FMEA table's rows, each a list of its cells."""
    section = doc_text.split("## Single faults (FMEA)", 1)[1].split("\n## ", 1)[0]
    return [[c.strip() for c in line.strip("|").split("|")]
            for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]


def resolve(dotted):
    """Imports the longest module prefix of a dotted name and walks the attributes."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_exists(ref):
    path, name = ref.split("::")
    with open(os.path.join(ROOT, path)) as f:
        return re.search(r"^def %s\(" % re.escape(name), f.read(), re.M) is not None


def write():
    with open(DOC) as f:
        text = f.read()
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    with open(DOC, "w") as f:
        f.write(before + BEGIN + "\n" + alarm_table() + "\n" + END + after)


if __name__ == "__main__":
    write()
