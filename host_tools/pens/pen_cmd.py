"""`cryopen pen`: talk to a running pen over its serial line (docs/PROTOCOL.md).

Reading is free; a change (select, config set, calibration, service) waits for
the clinician to press the mode button on the pen within 10 s, and ends with
"nothing changed" and a non-zero status when nobody does. Every failure (no
pen, no answer, an answer that is not the protocol, a refusal) is a message on
standard error and a non-zero exit status: 1 for what the pen refused or
nobody confirmed, 2 for a pen that cannot be reached or answers garbage.
"""
import json
import sys
import time

from host_tools.pens.link_client import Expired, LinkError, PenLink, Refused

ACTIONS = ("info", "status", "profiles", "select", "config", "log", "clock", "calibrate",
           "service", "monitor")
_LOG_PAGE = 16  # records per request: the pen's LOG_PAGE_MAX


def add_arguments(p):
    p.add_argument("action", choices=ACTIONS, help="what to ask the pen")
    p.add_argument("words", nargs="*", metavar="ARG",
                   help="select NAME; config get | config set FILE.json; clock set [EPOCH_S]; "
                   "calibrate get (the coefficients), or calibrate alone (cryopen calibrate)")
    p.add_argument("--port", required=True, help="the pen's serial port (a board's USB serial, "
                   "or the path `cryopen virtual-pen --run` prints)")
    p.add_argument("--json", action="store_true", help="print the pen's answer as JSON")
    p.add_argument("--start", type=int, default=0, help="log: the first record's index")
    p.add_argument("--count", type=int, default=None, help="log: how many records (default all)")
    p.add_argument("--csv", metavar="FILE.csv", help="log: export the records as CSV")
    p.add_argument("--out", metavar="FILE.json", help="log: export the records as JSON")
    p.add_argument("--seconds", type=float, default=None,
                   help="monitor: stop after this long (default: until Ctrl-C)")
    p.add_argument("--plot", metavar="FILE.png", help="monitor: a picture of the session at the end")


def run(args, link=None):
    """link: an open PenLink (tests); otherwise one is opened on --port."""
    try:
        if link is None:
            link = PenLink(args.port)
        with link:
            link.on_pending = _asking
            return _ACTIONS[args.action](link, args)
    except Refused as e:
        return _fail("the pen refused: %s" % e, 1)
    except Expired:
        return _fail("nobody confirmed on the pen within its 10 s: nothing changed", 1)
    except LinkError as e:
        return _fail(str(e), 2)
    except _UsageError as e:
        return _fail(str(e), 2)


class _UsageError(Exception):
    pass


def _fail(message, status):
    print("cryopen pen: %s" % message, file=sys.stderr)
    return status


def _asking(body):
    print("on the pen: press the mode button within %s s to confirm %s (%s)" % (
        body.get("confirm_s", 10), body.get("request"), body.get("detail")), file=sys.stderr,
        flush=True)


def _show(args, doc, text):
    print(json.dumps(doc, indent=2) if args.json else text)
    return 0


def _words(args, *allowed):
    if len(args.words) not in allowed:
        raise _UsageError("%s takes %s" % (args.action, " or ".join(
            "%d argument%s" % (n, "" if n == 1 else "s") for n in allowed)))
    return args.words


def _info(link, args):
    _words(args, 0)
    doc = link.request("info")
    return _show(args, doc, "\n".join("%-14s %s" % (k, v) for k, v in doc.items()))


def _status(link, args):
    _words(args, 0)
    doc = link.request("status")
    tips = doc.get("tip_c") or []
    text = ["%s, profile %s, session %s, application %s of %s" % (
        doc.get("state"), doc.get("profile"), doc.get("session"), doc.get("applications"),
        doc.get("cycles")),
        "tip %s C (target %s C, floor %s C)" % (" / ".join("%.2f" % t for t in tips),
                                                doc.get("target_c"), doc.get("floor_c"))]
    if doc.get("rest_left_s"):
        text.append("resting: %.1f s left" % doc["rest_left_s"])
    if doc.get("alarm"):
        text.append("alarm: %s; latched: %s" % (doc["alarm"], ", ".join(doc.get("faults") or [])
                                                or "-"))
    if doc.get("gas_left_mg") is not None:
        text.append("gas left (estimate): %.1f g" % (doc["gas_left_mg"] / 1000.0))
    return _show(args, doc, "\n".join(text))


def _profiles(link, args):
    _words(args, 0)
    doc = link.request("profiles")
    rows = ["%s %-12s target %6.1f C, floor %6.1f C, hold %4.0f s" % (
        "*" if p.get("name") == doc.get("active") else " ", p.get("name"), p.get("target_c"),
        p.get("floor_c"), p.get("hold_s")) for p in doc["profiles"]]
    return _show(args, doc, "\n".join(rows))


def _select(link, args):
    name, = _words(args, 1)
    doc = link.request("select", name)
    return _show(args, doc, "profile %s selected on the pen" % name)


def _config(link, args):
    words = _words(args, 1, 2)
    if words == ["get"]:
        doc = link.request("config", "get")
        return _show(args, doc, json.dumps(doc, indent=2))
    if len(words) != 2 or words[0] != "set":
        raise _UsageError("config get, or config set FILE.json")
    from host_tools import text_file

    path = words[1]
    text = text_file.decode(path, text_file.read_bytes(path, _UsageError), _UsageError,
                            "a clinic configuration is a JSON object", "UTF-8")
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise _UsageError("%s is not JSON: %s" % (path, e)) from None
    answer = link.request("config", "set", json.dumps(doc, separators=(",", ":")))
    return _show(args, answer, "configuration stored on the pen")


def _clock(link, args):
    words = _words(args, 1, 2)
    if words[0] != "set":
        raise _UsageError("clock set [EPOCH_S] (default: this computer's time)")
    epoch = int(time.time()) if len(words) == 1 else _int(words[1], "EPOCH_S")
    doc = link.request("clock", "set", epoch)
    return _show(args, doc, "pen clock set to %d" % epoch)


def _int(text, what):
    try:
        return int(text)
    except ValueError:
        raise _UsageError("%s must be a whole number, got %r" % (what, text)) from None


def _calibrate(link, args):
    words = _words(args, 0, 1)
    if words == ["get"]:
        doc = link.request("calibration", "get")
        return _show(args, doc, "\n".join(
            "sensor %d: a=%.6e b=%.6e c=%.6e" % (i + 1, s["a"], s["b"], s["c"])
            for i, s in enumerate(doc["sensors"])) + " (%s)" % doc.get("source"))
    if words:
        raise _UsageError("calibrate get, or calibrate alone to calibrate in reference baths")
    from host_tools.pens import calibrate

    return calibrate.calibrate(link, calibrate.DEFAULT_POINTS, input)


def _service(link, args):
    _words(args, 0)
    doc = link.request("service")
    return _show(args, doc, "the pen reboots into service mode")


def read_log(link, start=0, count=None):
    """(records, damaged) from start, as `cryopen logs --flash` reads them."""
    from host_tools.reports import record_log

    records, damaged = [], []
    index = start
    while count is None or len(records) + len(damaged) < count:
        page = _LOG_PAGE if count is None else min(_LOG_PAGE, count - len(records) - len(damaged))
        doc = link.request("log", index, page)
        for item in doc["records"]:
            if "damaged" in item:
                damaged.append((item["position"], item["damaged"]))
            else:
                records.append(record_log.named(item))
        if doc["next"] <= index or doc["next"] >= doc["end"]:
            break
        index = doc["next"]
    return records, damaged


def _log(link, args):
    from host_tools.reports import record_log

    _words(args, 0)
    if args.start < 0 or (args.count is not None and args.count < 1):
        raise _UsageError("--start must be 0 or more and --count 1 or more")
    records, damaged = read_log(link, args.start, args.count)
    try:
        if args.csv:
            record_log.write_csv(args.csv, records)
        if args.out:
            record_log.write_json(args.out, records, damaged)
    except OSError as e:
        raise _UsageError("cannot write %s: %s" % (e.filename, e.strerror)) from None
    doc = {"records": records, "damaged": [{"position": p, "problem": q} for p, q in damaged]}
    text = [record_log.line(r) for r in records]
    text += ["damaged record at %s: %s" % (p, q) for p, q in damaged]
    return _show(args, doc, "\n".join(text) or "no records")


def _monitor(link, args):
    """The tip temperature, twice a second, until Ctrl-C or --seconds."""
    _words(args, 0)
    samples = []
    t0 = time.monotonic()
    try:
        while args.seconds is None or time.monotonic() - t0 < args.seconds:
            doc = link.request("status")
            t = time.monotonic() - t0
            samples.append((t, doc["tip_c"], doc["target_c"], doc["state"]))
            if args.json:
                print(json.dumps({"t_s": round(t, 2), **doc}), flush=True)
            else:
                print("%7.1f s  %-8s %s C" % (t, doc["state"], " / ".join(
                    "%7.2f" % c for c in doc["tip_c"])), flush=True)
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    if args.plot:
        _plot(args.plot, samples)
    return 0


def _plot(path, samples):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    t = [s[0] for s in samples]
    for i in (0, 1):
        ax.plot(t, [s[1][i] for s in samples], label="tip sensor %d" % (i + 1))
    ax.plot(t, [s[2] for s in samples], "--", label="target")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("temperature (C)")
    ax.legend()
    try:
        fig.savefig(path)
    except (OSError, ValueError) as e:
        raise _UsageError("cannot write the plot %s: %s" % (path, e)) from None
    finally:
        plt.close(fig)


_ACTIONS = {"info": _info, "status": _status, "profiles": _profiles, "select": _select,
            "config": _config, "log": _log, "clock": _clock, "calibrate": _calibrate,
            "service": _service,
            "monitor": _monitor}
