"""The `porthole` command: one entry point, one subcommand per service."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module with add_arguments(parser) and run(args) -> int, help)
SUBCOMMANDS = {
    "server": ("porthole.server.cli", "run the reference signaling server and the browser page"),
    "agent": ("porthole.agent.cli", "run the device agent (launches porthole-core)"),
    "demo": ("porthole.demo", "start server + agent + demo target locally (what `make run` does)"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="porthole", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        p = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(p)
        modules[name] = module
    args = parser.parse_args(argv)
    try:
        return int(modules[args.command].run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
