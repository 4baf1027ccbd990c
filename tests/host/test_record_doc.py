"""docs/RECORD.md against the code: its field tables are the layouts of
firmware/record.py and firmware/store.py, field for field (offset, type, name), and
its CSV columns are host_tools.reports.record_log.COLUMNS."""
import os
import re
import struct

from firmware import record, store
from host_tools.reports import record_log

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "RECORD.md")
TYPES = {"B": "u8", "H": "u16", "I": "u32", "h": "i16", "12s": "char[12]", "4s": "char[4]"}


def _sections():
    """{heading: text} for the ### sections."""
    with open(DOC) as f:
        text = f.read()
    parts = re.split(r"^### (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _table(text):
    """(offset, type, name) of each row of the section's first field table."""
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            rows.append((int(cells[0]), cells[1], cells[2]))
    assert rows, "no field table"
    return rows


def _layout(fmt, names, start):
    """(offset, type, name) per field of a struct format."""
    out = []
    offset = start
    for code, name in zip(re.findall(r"\d*[a-zA-Z]", fmt.lstrip("<")), names):
        out.append((offset, TYPES[code], name))
        offset += struct.calcsize("<" + code)
    assert len(out) == len(names)
    return out


def test_the_record_header_table_is_record_py():
    rows = _table(_sections()["Record header"])
    header = _layout(record._HEAD, ("kind", "version", "boot", "t_ms", "wall_s"), 0)
    assert rows == header + [(record.SIZE - 4, "u32", "crc")]
    assert header[-1][0] + 4 == record._HEAD_SIZE


def test_each_kinds_payload_table_is_record_py_layout():
    sections = _sections()
    for kind, (fmt, names) in record._LAYOUT.items():
        heading = "Payload: %s (kind %d)" % (record.KIND_NAMES[kind], kind)
        assert heading in sections, "docs/RECORD.md has no section " + heading
        assert _table(sections[heading]) == _layout(fmt, names, record._HEAD_SIZE), heading
    documented = [h for h in sections if h.startswith("Payload: ")]
    assert len(documented) == len(record._LAYOUT), documented


def test_the_state_copy_table_is_store_py():
    rows = _table(_sections()["State copy"])
    names = ("magic", "version") + tuple(n for n in (
        "boot_count", "seq", "session", "applications", "armed", "open_ms", "rest_ms",
        "profile", "cartridge_ms"))
    assert rows == _layout(store._FMT, names, 0) + [(store.SIZE - 4, "u32", "crc")]
    s = store.State(11, 12, 13, 14, True, 16, 17, "p", 18)
    assert [getattr(s, n) for n in names[2:]] == list(s.fields())  # State's own names
    # the version 1 copy the text describes: the same fields up to the profile, CRC at 36
    assert _layout(store._V1_FMT, names[:-1], 0) == rows[:-2]
    assert store._V1_SIZE == rows[-2][0] + 4 == 40


def test_the_documented_csv_columns_are_record_log_columns():
    text = _sections()["CSV and JSON columns"]
    block = re.search(r"```\n(.*?)\n```", text, flags=re.S).group(1)
    assert tuple(block.strip().split(",")) == record_log.COLUMNS


def test_the_documented_sizes_and_limits_are_the_codes():
    from hal import storage

    with open(DOC) as f:
        text = f.read()
    assert "Every record is %d bytes" % record.SIZE in text
    assert "Each copy is %d bytes" % store.SIZE in text
    assert "`RECORDS_PER_FILE` (%d)" % storage.RECORDS_PER_FILE in text
    assert "`FILES_KEPT` (%d)" % storage.FILES_KEPT in text


def _meaning(section, name):
    for line in _sections()[section].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[2] == name:
            return cells[4]
    raise AssertionError("%s: no row %s" % (section, name))


def test_the_documented_codes_are_the_codes():
    from firmware import states

    def listed(names):
        return ", ".join("%d %s" % (code, name) for code, name in names if name)

    assert listed(sorted(record.KIND_NAMES.items())) in _meaning("Record header", "kind")
    assert listed(enumerate(record.CAUSE_NAMES)) in _meaning("Payload: boot (kind 1)", "cause")
    assert listed(enumerate(states.END_NAMES)) in _meaning("Payload: application (kind 3)",
                                                           "end_reason")
    assert listed(enumerate(states.STATE_NAMES)) in _meaning("Payload: fault (kind 4)", "state")
    assert listed(sorted(record.CHANGE_NAMES.items())) in _meaning("Payload: change (kind 5)",
                                                                   "what")
    assert "(%d)" % record.VERSION in _meaning("Record header", "version")
    assert "(%d)" % store.VERSION in _meaning("State copy", "version")
    assert store.MAGIC.decode() in _meaning("State copy", "magic")


def test_the_config_copy_table_is_config_py():
    from firmware import config

    rows = _table(_sections()["Configuration copy"])
    header = _layout(config._HEAD, ("magic", "version", "length", "seq"), 0)
    assert rows == header + [(config.HEAD_SIZE, "char[length]", "body")]
    assert "(%d)" % config.VERSION in _meaning("Configuration copy", "version")
    assert config.MAGIC.decode() in _meaning("Configuration copy", "magic")
    with open(DOC) as f:
        text = f.read()
    assert ("at least %d bytes and at most %d" % (config.SIZE_MIN, config.SIZE_MAX)) in text
