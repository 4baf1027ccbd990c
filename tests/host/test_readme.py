"""The README documents public interfaces: its tables and example must be the code's."""
import json
import os
import re

from host_tools import scenario, simulator
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
