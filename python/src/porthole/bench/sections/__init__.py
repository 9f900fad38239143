"""The registry of bench sections: each measured topic is one module here.

A section is a coroutine ``run(ctx) -> list[Figure]`` registered with
``@section(key, title, about)``; ``notes(figures) -> list[str]`` (optional,
``@notes(key)``) turns its figures into a few plain sentences for
docs/benchmarks.md. Sections run in the order of MODULES.

To add one (the screen section, say): write ``sections/screen.py`` with a
``@section("screen", ...)`` coroutine that uses the shared resources of
``porthole.bench.context.Context`` (or starts its own and stops them before
it returns), build its figures with ``Figure.of(...)`` giving each a role
(porthole / floor / reference / ceiling) and a ``how`` that lets someone
rerun it, then append ``"screen"`` to MODULES below. Add its sizes to
``context.Params`` (FULL, QUICK and SMOKE) so every mode stays within budget.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from porthole.bench.figures import Figure

# Run order. idle goes first, while the agent has never had a session.
MODULES = [
    "idle",
    "setup",
    "keystroke",
    "observers",
    "relay",
    "throughput",
    "files",
    "concurrency",
    "screen",
    "multinode",
]


@dataclass
class Section:
    key: str
    title: str
    about: str
    run: Callable[..., Awaitable[list[Figure]]]
    notes: Callable[[list[Figure]], list[str]] = field(default=lambda figures: [])


REGISTRY: dict[str, Section] = {}


def section(key: str, title: str, about: str):
    def register(fn):
        REGISTRY[key] = Section(key, title, about, fn)
        return fn

    return register


def notes(key: str):
    def register(fn):
        REGISTRY[key].notes = fn
        return fn

    return register


def load() -> dict[str, Section]:
    for name in MODULES:
        importlib.import_module(f"porthole.bench.sections.{name}")
    return {k: REGISTRY[k] for k in MODULES if k in REGISTRY}
