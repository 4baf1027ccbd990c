"""The README documents public interfaces: its tables and example must be the code's."""
import json
import os
import re

from host_tools.sim import scenario, simulator
from tests.host.scenario_run import simulate

with open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")) as f:
    README = f.read()


def section(title):
    return README.split(title, 1)[1].split("\n#", 1)[0]


def test_trace_column_table_is_the_trace():
    documented = []
    for cell in re.findall(r"^\| (`[^|]+`) \|", section("`--trace FILE.csv`"), re.M):
        documented += re.findall(r"`([a-z0-9_]+)`", cell)
    assert documented == list(simulator.TRACE_COLUMNS)


def test_every_summary_key_is_documented(tmp_path):
    summary, _ = simulate("contact_limit", tmp_path)
    text = section("`--summary FILE.json`")
    assert [k for k in summary if "`%s`" % k not in text] == []


def test_the_scenario_example_is_a_valid_scenario():
    example = re.search(r"```json\n(.*?)```", section("### Scenario files"), re.S).group(1)
    sc = scenario.from_dict(json.loads(example))
    assert [e.action for e in sc.events] == ["trigger", "fault", "clear", "trigger", "reset",
                                             "contact", "tilted", "fault", "fault"]
    assert (sc.events[-2].where, sc.events[-1].sensor, sc.events[-1].offset_c) == ("c", 2, -10)


def layout_rows():
    """(folder, names in its row) for each row of the README's layout table."""
    rows = re.findall(r"^\| `([a-z_/]+)/` \| (.*) \|$", section("## Layout"), re.M)
    return [(folder, set(re.findall(r"`([a-z0-9_]+\.(?:py|mjs))`", text))) for folder, text in rows]


def test_the_layout_table_names_every_module_in_the_tree():
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    rows = dict(layout_rows())
    for folder in ("firmware", "hal", "host_tools", "host_tools/sim", "host_tools/pens",
                   "host_tools/reports", "host_tools/quality"):
        on_disk = {n for n in os.listdir(os.path.join(root, folder))
                   if n.endswith((".py", ".mjs")) and n != "__init__.py"}
        assert rows[folder] == on_disk, folder


def test_the_design_notes_name_every_host_package():
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "DESIGN.md")) as f:
        design = f.read().split("## Layout", 1)[1].split("\n## ", 1)[0]
    root = os.path.join(os.path.dirname(__file__), "..", "..", "host_tools")
    packages = {n for n in os.listdir(root) if os.path.isfile(os.path.join(root, n, "__init__.py"))}
    assert {p for p in packages if "`host_tools/%s/`" % p not in design} == set()
    assert {f for f, _ in layout_rows()} >= {"host_tools/" + p for p in packages}
