"""The clinic configuration: which profiles the mode button offers, in which
order, the one the pen starts in, and the clinic's own profiles. Every custom
profile goes through the same loader as the built-ins (firmware/profiles.py): a
value outside a limit is refused with the field and the limit, never clamped.

    {"profiles": ["aftercare", "short"], "start": "aftercare",
     "custom": [{profile fields}, ...]}
"""
from firmware import profiles

MAX_ENABLED = 16


class ConfigError(ValueError):
    pass


def factory(start):
    """Every built-in profile, in the table's order, starting in `start`."""
    return {"profiles": [d["name"] for d in profiles.PROFILES], "start": start, "custom": []}


def load(d):
    """(enabled profiles as a tuple of Profile, index of the start profile)."""
    if not isinstance(d, dict):
        raise ConfigError("config must be an object")
    for key in d:
        if key not in ("profiles", "start", "custom"):
            raise ConfigError("config: unknown key %s (known: profiles, start, custom)" % key)
    custom = d.get("custom", [])
    if not isinstance(custom, list):
        raise ConfigError("config.custom must be a list of profile objects")
    known = {}
    for p in profiles.all_builtin():
        known[p.name] = p
    for i, raw in enumerate(custom):
        try:
            p = profiles.load(raw)
        except profiles.ProfileError as e:
            raise ConfigError("config.custom[%d]: %s" % (i, e))
        if p.name in known:
            raise ConfigError("config.custom[%d]: the name '%s' is taken" % (i, p.name))
        known[p.name] = p
    names = d.get("profiles")
    if not isinstance(names, list) or not names or len(names) > MAX_ENABLED:
        raise ConfigError("config.profiles must list 1 to %d profile names" % MAX_ENABLED)
    enabled = []
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in known:
            raise ConfigError("config.profiles[%d]: no profile named %r; known: %s"
                              % (i, name, ", ".join(sorted(known))))
        if known[name] in enabled:
            raise ConfigError("config.profiles[%d]: %s is listed twice" % (i, name))
        enabled.append(known[name])
    start = d.get("start", names[0])
    if start not in names:
        raise ConfigError("config.start: %r is not one of the enabled profiles (%s)"
                          % (start, ", ".join(names)))
    return tuple(enabled), names.index(start)
