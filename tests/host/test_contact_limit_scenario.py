"""The trigger held for 120 s under a profile limited to 10 s."""
from tests.host.scenario_run import commanded, gas, rows_between, simulate


def test_one_application_ends_at_the_contact_limit(tmp_path):
    summary, trace = simulate("contact_limit", tmp_path)
    first = summary["applications"][0]
    assert first["start_s"] == 1.0
    assert abs(first["duration_s"] - 10.0) <= 0.01
    assert first["end_reason"] == "contact_limit"
    held = rows_between(trace, 11.0, 120.99)
    assert not any(gas(r) or commanded(r) for r in held)
    assert all(r["trigger"] == "1" for r in held)
    # released at 121 s and pressed again at 122 s: a new application
    assert summary["applications"][1]["start_s"] == 122.0
