"""The `porthole` command: one entry point, one subcommand per service."""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module with add_arguments(parser) and run(args) -> int, help).
# Only the chosen module is imported, so one part's dependencies never slow or
# break another's start.
SUBCOMMANDS = {
    "server": ("porthole.server.cli", "run the reference signaling server and the browser page"),
    "agent": ("porthole.agent.cli", "run the device agent (launches porthole-core)"),
    "ctl": ("porthole.ctl.cli", "debug live sessions over the agent's admin gRPC API"),
    "demo": ("porthole.demo", "start server + agent + a demo target locally (what `make run` does)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="porthole",
        description="Porthole: a terminal into an edge device's containers, over WebRTC.",
        epilog="commands:\n" + "\n".join(f"  {n:<8} {h}" for n, (_, h) in SUBCOMMANDS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=list(SUBCOMMANDS), metavar="COMMAND")
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    top = parser.parse_args(argv[:1] if argv and not argv[0].startswith("-") else argv)
    module_name, help_text = SUBCOMMANDS[top.command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and module_name.startswith(e.name):
            parser.error(f"{top.command!r} is not available in this build")
        raise
    sub = argparse.ArgumentParser(prog=f"porthole {top.command}", description=help_text)
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
