"""The `cryopen` command. Each subcommand lives in its own module, which
provides add_arguments(parser) and run(args) -> exit status."""
import argparse
import importlib
import os
import select
import sys

# name, module, one-line help
COMMANDS = (
    ("simulate", "host_tools.sim.simulate", "run the firmware core against the physical model"),
    ("profiles", "host_tools.sim.profiles_cmd", "list the treatment profiles and their limits"),
    ("montecarlo", "host_tools.sim.montecarlo", "one application on each of N pens and patients "
     "drawn at random: percentiles of the outcomes, and the nuisance faults"),
    ("logs", "host_tools.reports.logs", "read a trace as an event log"),
    ("bench", "host_tools.quality.bench", "measure the loop against physics, the open loop and the clock"),
    ("virtual-pen", "host_tools.pens.virtual_pen", "serve a MicroPython pen on a pseudo-terminal"),
    ("deploy", "host_tools.pens.deploy", "copy the firmware to a pen and check it by hash"),
    ("pen", "host_tools.pens.pen_cmd", "ask a running pen over its serial line; changes wait "
     "for a press on the pen"),
    ("calibrate", "host_tools.pens.calibrate", "calibrate the pen's tip sensors in reference "
     "baths, over its serial line"),
    ("check", "host_tools.quality.check", "compile, subset-check and type-check the device code"),
)


_OURS = ("firmware", "hal", "boards", "host_tools", "tests")


def build_parser(argv):
    """Only the chosen subcommand's module is imported: some pull in heavy libraries."""
    parser = argparse.ArgumentParser(
        prog="cryopen", description="Host tools of the cryo pen: simulate a treatment, read its "
        "logs, bench the loop, check, deploy and verify the firmware.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module, text in COMMANDS:
        p = sub.add_parser(name, help=text, description=text)
        if name in argv:
            mod = importlib.import_module(module)
            mod.add_arguments(p)
            p.set_defaults(run=mod.run)
    return parser


def main(argv=None):
    """Console entry point; returns the exit status. Each command refuses a bad input
    with its own message naming the file and where; what none of them foresaw still
    ends with a message and status 2, not a traceback (CRYOPEN_TRACEBACK=1 shows it)."""
    argv = sys.argv[1:] if argv is None else argv
    name = argv[0] if argv else "cryopen"
    try:
        args = build_parser(argv[:1]).parse_args(argv)
        return args.run(args) or 0
    except ModuleNotFoundError as e:
        if os.environ.get("CRYOPEN_TRACEBACK") or (e.name or "").split(".")[0] in _OURS:
            raise
        print("cryopen %s: needs the Python package %s, which this environment lacks: run "
              "`make test` once (it installs the test tools too), or "
              "`.venv/bin/pip install -e '.[test]'`" % (name, e.name), file=sys.stderr)
        return 2
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as e:
        if os.environ.get("CRYOPEN_TRACEBACK"):
            raise
        print("cryopen %s: unexpected error, a bug in the tool (run it again with "
              "CRYOPEN_TRACEBACK=1 and report what it prints): %s: %s"
              % (name, type(e).__name__, e), file=sys.stderr)
        return 2


def entry():
    try:
        status = main()
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("cryopen: interrupted", file=sys.stderr)
        status = 130
    except BrokenPipeError as e:
        if _stdout_closed():  # the reader went away (`cryopen logs t.csv | head`)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            status = 1
        else:  # another pipe: a process the command talks to has gone
            print("cryopen: a pipe closed under the command: %s" % e, file=sys.stderr)
            status = 2
    sys.exit(status)


def _stdout_closed():
    """Whether nobody reads standard output any more (its pipe's reader has gone)."""
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


if __name__ == "__main__":
    entry()
