"""python -m porthole.bench: run the sections, print the table, write the results."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime
import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from porthole.bench import machine, report, sections, targets
from porthole.bench.context import FULL, QUICK, SMOKE, Context, Params
from porthole.bench.figures import Figure
from porthole.bench.peer import REPO
from porthole.errors import PortholeError

# Where quick, smoke and partial runs write their results (not committed).
LOCAL_RESULTS = "bench-results.local.json"


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m porthole.bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="smaller sizes for development (under two minutes)")
    p.add_argument("--smoke", action="store_true", help="the smallest sizes: checks the tool works (tests/bench)")
    p.add_argument("--sections", default="", help="comma-separated section keys (default: all)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one size of the mode (context.Params), e.g. concurrency_levels=200 or "
        "throughput_bytes=8388608; repeatable; tuples comma-separated; the results then go to the local file",
    )
    p.add_argument(
        "--json",
        type=Path,
        help=f"results file (default docs/benchmarks.json for a complete full run, else {LOCAL_RESULTS})",
    )
    p.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: rewrite the Markdown page (--md, default docs/benchmarks.md) from a "
        "results file, e.g. after editing a section's text or notes",
    )
    p.add_argument(
        "--md", type=Path, help="Markdown page (default docs/benchmarks.md for a complete full run, else none)"
    )
    return p.parse_args(argv)


def with_overrides(params: Params, overrides: list[str]) -> Params:
    """params with NAME=VALUE overrides applied (--param); a bad name or value is a bad_request."""
    fields = {f.name: f for f in dataclasses.fields(params)}
    changes: dict[str, Any] = {}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or name not in fields:
            raise PortholeError("bad_request", f"--param {item!r}: expected NAME=VALUE with NAME one of {list(fields)}")
        current = getattr(params, name)
        try:
            if isinstance(current, tuple):
                changes[name] = tuple(int(v) for v in value.split(",") if v)
            else:
                changes[name] = type(current)(value)
        except ValueError as e:
            raise PortholeError("bad_request", f"--param {item!r}: {e}") from e
    return dataclasses.replace(params, **changes)


async def run(args: argparse.Namespace) -> int:
    iface = os.environ.get("PORTHOLE_TEST_IFACE")
    if not iface:
        raise PortholeError("internal", "run inside scripts/in-netns.sh (make bench does)")
    core = os.path.abspath(os.environ.get("PORTHOLE_CORE", str(REPO / "bin" / "porthole-core")))
    registry = sections.load()
    chosen = [s for s in args.sections.split(",") if s] or list(registry)
    unknown = [s for s in chosen if s not in registry]
    if unknown:
        raise PortholeError("bad_request", f"unknown section(s) {unknown}; have {list(registry)}")
    todo = {k: registry[k] for k in registry if k in chosen}
    short = args.quick or args.smoke
    params = with_overrides(SMOKE if args.smoke else QUICK if args.quick else FULL, args.param)
    # Only a complete full run replaces the committed figures; any other goes to a local file.
    complete = not short and not args.param and set(todo) == set(registry)
    json_path = args.json or (REPO / ("docs/benchmarks.json" if complete else LOCAL_RESULTS))
    md_path = args.md or (REPO / "docs" / "benchmarks.md" if complete else None)

    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    t0 = time.monotonic()
    ctx = Context(params, quick=short, core=core, iface=iface)
    figures: list[Figure] = []
    try:
        for sec in todo.values():
            print(f"bench: {sec.title} ...", file=sys.stderr, flush=True)
            ts = time.monotonic()
            figures += await sec.run(ctx)
            print(f"bench: {sec.title} done in {time.monotonic() - ts:.0f} s", file=sys.stderr, flush=True)
    finally:
        await ctx.close()
    duration = time.monotonic() - t0
    run_info = {
        "quick": short,
        "mode": "smoke" if args.smoke else "quick" if args.quick else "full",
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": round(duration, 1),
        "params": params.__dict__,
        "machine": machine.describe(core, REPO),
        # 1-minute load average before and after: the machine may be shared; figures from a busy one are slower.
        "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    print(report.table(todo, figures))
    print(targets.table(figures))
    print(
        f"\n{len(figures)} figures in {duration:.0f} s; written to {json_path}" + (f" and {md_path}" if md_path else "")
    )
    report.write_json(json_path, run_info, figures)
    if md_path:
        report.write_markdown(md_path, run_info, todo, figures, os.path.relpath(json_path, md_path.parent))
    return 0


def render(args: argparse.Namespace) -> int:
    data = json.loads(args.render.read_text())
    registry = sections.load()
    figures = [Figure(**f) for f in data.pop("figures")]
    data.pop("targets", None)  # recomputed from the figures
    for f in figures:
        f.median = math.nan if f.median is None else f.median
        f.worst = math.nan if f.worst is None else f.worst
    todo = {k: v for k, v in registry.items() if any(f.section == k for f in figures)}
    md_path = args.md or REPO / "docs" / "benchmarks.md"
    report.write_markdown(md_path, data, todo, figures, os.path.relpath(args.render, md_path.parent))
    print(f"rewrote {md_path} from {args.render}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.render:
        return render(args)
    logging.basicConfig(level=logging.WARNING)
    try:
        return asyncio.run(run(args))
    except PortholeError as e:
        print(f"bench: {e.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
