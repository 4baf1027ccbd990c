"""Reading a pen's treatment record from its flash image: `cryopen logs --flash FILE`.

Each record is read on its own; a damaged one (bad CRC, torn write, unknown
version) is reported with its position and skipped, and every intact one is still
read. The CSV and JSON exports have the columns of COLUMNS (docs/RECORD.md).
"""
import csv
import json

from firmware import alarms, record, states
from hal.storage import Storage
from host_tools.pens import flash_image

COLUMNS = ("index", "position", "kind", "boot", "t_ms", "wall_s", "session", "number",
           "profile", "end_reason", "length_ms", "min_c", "mean_c", "at_target_ms", "open_ms",
           "gas_mg", "cause", "cold_start", "applications", "assumed", "latched", "cleared", "state",
           "what", "detail")


def named(fields):
    """Codes turned into the names the summary and the trace use."""
    out = dict(fields)
    if "end_reason" in out:
        r = out["end_reason"]
        out["end_reason"] = states.END_NAMES[r] if 0 <= r < len(states.END_NAMES) else str(r)
    for key in ("min_cc", "mean_cc"):
        if key in out:
            out[key[:-2] + "c"] = out.pop(key) / 100.0
    if "cause" in out:
        c = out["cause"]
        out["cause"] = record.CAUSE_NAMES[c] if 0 <= c < len(record.CAUSE_NAMES) else str(c)
    for key in ("latched", "cleared"):
        if key in out:
            out[key] = "|".join(alarms.names(out[key]))
    if "state" in out:
        s = out["state"]
        out["state"] = states.STATE_NAMES[s] if 0 <= s < len(states.STATE_NAMES) else str(s)
    if "what" in out:
        out["what"] = record.CHANGE_NAMES.get(out["what"], str(out["what"]))
    return out


def read(path):
    """(records, damaged): records as dicts with index and position; damaged as
    (position, problem). flash_image.ImageError if the image does not mount."""
    lfs, _ = flash_image.load(path)
    storage = Storage(flash_image.LfsFs(lfs))
    records, damaged = [], []
    for position, fields, problem in storage.records():
        if fields is None:
            damaged.append((position, problem))
            continue
        row = named(fields)
        row["index"] = len(records)
        row["position"] = position
        records.append(row)
    return records, damaged


def line(r):
    kind = r["kind"]
    head = "#%d boot %d %10.3f s  %s" % (r["index"], r["boot"], r["t_ms"] / 1000.0, kind)
    if kind == "application":
        return head + " %d.%d %s: %s after %.2f s, lowest %.2f C, mean %.2f C, %.2f s at " \
            "target, valve open %.2f s, about %d mg" % (
                r["session"], r["number"], r["profile"], r["end_reason"], r["length_ms"] / 1000.0,
                r["min_c"], r["mean_c"], r["at_target_ms"] / 1000.0, r["open_ms"] / 1000.0,
                r["gas_mg"])
    if kind == "boot":
        return head + " %s%s, session %d with %d applications%s" % (
            r["cause"], " (cold start: no valid stored state)" if r["cold_start"] else "",
            r["session"], r["applications"],
            " (the last counted as the power cut may have interrupted it)" if r["assumed"]
            else "")
    if kind == "session":
        return head + " %d started, profile %s" % (r["session"], r["profile"])
    if kind == "fault":
        return head + " latched %s cleared %s in %s" % (
            r["latched"] or "-", r["cleared"] or "-", r["state"])
    return head + " %s %s" % (r["what"], r["detail"])


def write_csv(path, records):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        w.writeheader()
        for r in records:
            w.writerow(r)


def write_json(path, records, damaged):
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"records": records, "damaged": [{"position": p, "problem": q}
                                                   for p, q in damaged]}, f, indent=2)
