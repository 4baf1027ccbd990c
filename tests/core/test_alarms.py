"""The alarm table and what is derived from it."""
from firmware import alarms


def test_worst_picks_the_highest_priority():
    for a in alarms.TABLE:
        for b in alarms.TABLE:
            code = alarms.worst(a[2] | b[2])
            assert alarms.priority(code) == max(a[3], b[3])
            assert code in (a[0], b[0])
    assert alarms.worst(alarms.F_LOW_BATTERY | alarms.F_NO_COOLING | alarms.F_OPEN) == 1
    assert alarms.worst(0) == 0


def test_latching_bits_come_from_the_table_and_exclude_low_battery():
    assert not alarms.LATCHING_BITS & alarms.F_LOW_BATTERY
    for code, name, bit, prio, latching, text in alarms.TABLE:
        assert bool(alarms.LATCHING_BITS & bit) == latching, name


def test_rows_have_unique_codes_names_and_bits_and_a_text():
    rows = alarms.TABLE
    for field in (0, 1, 2):
        assert len(set(row[field] for row in rows)) == len(rows)
    for code, name, bit, prio, latching, text in rows:
        assert code > 0 and name and text
        assert bit and bit & (bit - 1) == 0  # one bit per condition
        assert alarms.LOW <= prio <= alarms.HIGH
        assert alarms.name_of(code) == name and alarms.names(bit) == [name]
