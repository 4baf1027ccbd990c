"""docs/PROTOCOL.md is the protocol's reference: every command and every error code
has its place in it, its limits are the code's, and every example line is one the
pen would send (well formed, its checksum right) or a request whose checksum is."""
import binascii
import os
import re

from firmware import calibration, protocol
from hal import link
from tests.core.link_rig import parse

DOC_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "PROTOCOL.md")
with open(DOC_PATH) as f:
    DOC = f.read()


def section(title):
    return DOC.split("\n## " + title, 1)[1].split("\n## ", 1)[0]


def examples():
    lines = []
    for block in re.findall(r"```text\n(.*?)```", DOC, re.S):
        lines += [line for line in block.splitlines() if line[:2] in ("> ", "< ")]
    return lines


def test_every_command_has_its_section_and_its_row():
    commands = set(protocol._COMMANDS)
    headed = set(h.split()[0] for h in re.findall(r"^### (.+)$", section("Commands"), re.M))
    assert headed == commands
    rows = set(re.findall(r"^\| `(\w+)", section("Commands"), re.M))
    assert rows == commands


def test_every_error_code_is_in_the_table_and_in_an_example():
    table = re.findall(r"^\| `([A-Z]+)` \|", section("Errors"), re.M)
    assert table == list(protocol.CODES)
    shown = {line.split()[3] for line in examples() if line.startswith("< ") and " err " in line}
    assert shown == set(protocol.CODES)


def test_every_example_reply_is_well_formed_and_every_checksum_right():
    replies = requests = 0
    lines = examples()
    for i, line in enumerate(lines):
        text = line[2:]
        if line.startswith("< "):
            parse(text.encode() + b"\n")
            replies += 1
        elif " err CHECKSUM " in lines[i + 1]:
            continue  # the example of a damaged line
        elif re.search(r" \*[0-9a-f]{8}$", text):
            body, crc = text.rsplit(" *", 1)
            assert int(crc, 16) == binascii.crc32(body.encode()) & 0xFFFFFFFF, line
            requests += 1
    assert replies >= 25 and requests >= 10


def test_the_limits_are_the_codes():
    for name, value in (("MAX_LINE", protocol.MAX_LINE), ("LOG_PAGE_MAX", protocol.LOG_PAGE_MAX),
                        ("IN_PER_SERVE", link.IN_PER_SERVE), ("OUT_PER_SERVE", link.OUT_PER_SERVE),
                        ("MARGIN_MS", link.MARGIN_MS), ("ANSWER_MS", link.ANSWER_MS),
                        ("CONFIRM_MS", protocol.CONFIRM_MS // 1000),
                        ("MAX_SHIFT_CC", calibration.MAX_SHIFT_CC // 100)):
        assert re.search(r"`%s` \(%d\b" % (name, value), DOC), name
    assert "version 1 of the protocol" in DOC and protocol.VERSION == 1
    assert "fewer than two replies" in DOC and protocol.OUT_MAX - 1 == 2


def test_the_firmware_version_info_reports_is_the_packages():
    from host_tools.pens import mip_package

    assert protocol.FIRMWARE_VERSION == mip_package.VERSION
