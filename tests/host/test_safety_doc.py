"""docs/SAFETY.md is part of the product: every hazard names a mitigation that
exists and tests that exist, and the alarm section is the alarm table."""
from host_tools.quality import safety_doc

with open(safety_doc.DOC) as f:
    TEXT = f.read()
ROWS = safety_doc.hazard_rows(TEXT)


def test_every_hazard_row_has_a_mitigation_and_a_test():
    assert len(ROWS) >= 20
    for hid, mitigations, tests in ROWS:
        assert [m for m in mitigations if "." in m], hid
        assert [t for t in tests if "::" in t], hid


def test_every_named_mitigation_exists():
    for hid, mitigations, _ in ROWS:
        for name in mitigations:
            if "." in name and "/" not in name:
                assert safety_doc.resolve(name) is not None, (hid, name)


def test_every_named_test_exists():
    missing = [(hid, t) for hid, _, tests in ROWS for t in tests
               if "::" in t and not safety_doc.test_exists(t)]
    assert missing == []


def test_every_fmea_row_is_complete_and_names_a_test_that_exists():
    rows = safety_doc.fmea_rows(TEXT)
    components = {r[0] for r in rows}
    for part in ("main valve", "second valve", "tip sensor (either)", "ADC", "ADC reference",
                 "MCU loop", "backstop timer", "board monostable", "watchdog", "power",
                 "battery", "trigger", "reset button", "buzzer"):
        assert part in components, part
    for row in rows:
        assert len(row) == 7 and all(row), row
        tests = safety_doc.named_tests(row[6])
        assert tests and all(safety_doc.test_exists(t) for t in tests), row


def test_the_check_catches_a_misnamed_test():
    assert not safety_doc.test_exists("tests/core/test_pen_faults.py::test_no_such_thing")


def test_alarm_section_is_the_alarm_table():
    assert safety_doc.alarm_section(TEXT) == safety_doc.alarm_table()


_UNITS = {"ms": 1, "s": 1000, "C": 100, "C/s": 100, "": 1}


def documented_limits():
    """NAME -> value in the module's units, from the Limits table."""
    import re

    found = {}
    for m in re.finditer(r"^\| `([A-Z_]+)` \| (-?[\d.]+) ?([a-zA-Z/]*) \|", TEXT, re.M):
        found[m.group(1)] = round(float(m.group(2)) * _UNITS[m.group(3)])
    return found


def test_limits_table_is_the_limits_module():
    from firmware import limits

    actual = {k: v for k, v in vars(limits).items() if k.isupper()}
    assert documented_limits() == actual
