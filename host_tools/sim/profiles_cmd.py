"""`cryopen profiles [--json]`: every built-in profile with every limit it uses."""
import json

from firmware import limits, profiles

_COLUMNS = (("name", "%-12s"), ("kind", "%-8s"), ("target_c", "%8s"), ("floor_c", "%8s"),
            ("hold_s", "%7s"), ("contact_s", "%9s"), ("rest_s", "%7s"), ("session_s", "%9s"),
            ("cycles", "%6s"), ("cool_window_s", "%13s"), ("cool_drop_c", "%11s"))


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def absolute_limits():
    """The absolute limits every profile is checked against, in public units."""
    return {"max_contact_s": limits.MAX_CONTACT_MS / 1000, "min_rest_s": limits.MIN_REST_MS / 1000,
            "max_session_s": limits.MAX_SESSION_MS / 1000, "max_cycles": limits.MAX_CYCLES,
            "floor_c": limits.FLOOR_CC / 100, "pigment_floor_c": limits.PIGMENT_FLOOR_CC / 100,
            "target_max_c": limits.TARGET_MAX_CC / 100}


def run(args):
    rows = [p.as_dict() for p in profiles.all_builtin()]
    if args.json:
        print(json.dumps({"absolute_limits": absolute_limits(), "profiles": rows}, indent=2))
        return 0
    print(" ".join(fmt % name for name, fmt in _COLUMNS))
    for r in rows:
        print(" ".join(fmt % r[name] for name, fmt in _COLUMNS))
    print("absolute limits: " + ", ".join("%s %s" % kv for kv in absolute_limits().items()))
    return 0
