"""The `cryopen` command. Each subcommand lives in its own module, which
provides add_arguments(parser) and run(args) -> exit status."""
import argparse
import importlib
import sys

# name, module, one-line help
COMMANDS = (
    ("simulate", "host_tools.simulate", "run the firmware core against the physical model"),
    ("profiles", "host_tools.profiles_cmd", "list the treatment profiles and their limits"),
    ("logs", "host_tools.logs", "read a trace as an event log"),
    ("bench", "host_tools.bench", "measure the loop against physics, the open loop and the clock"),
    ("virtual-pen", "host_tools.virtual_pen", "serve a MicroPython pen on a pseudo-terminal"),
    ("deploy", "host_tools.deploy", "copy the firmware to a pen and check it by hash"),
    ("check", "host_tools.check", "compile, subset-check and type-check the device code"),
)


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
    """Console entry point; returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[:1]).parse_args(argv)
    return args.run(args) or 0


def entry():
    sys.exit(main())


if __name__ == "__main__":
    entry()
