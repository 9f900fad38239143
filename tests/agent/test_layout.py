"""The agent's seams (issue 9 §1), read from its import graph: nothing imports
the wiring back, no module imports most of its siblings, and the admin API,
metrics and the watchdog see sessions only through views.py; and the agent's and
the server's READMEs name every module in their tables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import porthole.agent
import porthole.server

AGENT = Path(porthole.agent.__file__).parent
# Modules that read the agent's state for others: only the narrow views.
READERS = ("admin", "admin_rpc", "metrics", "watchdog")
AGENT_INTERNALS = {"service", "session", "sessions", "shell", "connection", "signaling", "uplink", "sidecar_events"}


def _graph() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for p in AGENT.glob("*.py"):
        deps: set[str] = set()
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, ast.ImportFrom) and n.module == "porthole.agent":
                deps.update(a.name for a in n.names)
            elif isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("porthole.agent."):
                deps.add(n.module.split(".")[2])
            elif isinstance(n, ast.Import):
                deps.update(a.name.split(".")[2] for a in n.names if a.name.startswith("porthole.agent."))
        out[p.stem] = deps
    return out


def test_nothing_imports_the_wiring_back():
    g = _graph()
    assert "service" in g and len(g) > 20, sorted(g)
    assert [m for m, deps in g.items() if "service" in deps] == ["cli"]


def test_no_module_is_a_hub():
    g = _graph()
    siblings = len(g) - 1
    hubs = {m: sorted(d) for m, d in g.items() if len(d) * 2 > siblings}
    assert not hubs, hubs


def test_readers_see_the_agent_only_through_views():
    g = _graph()
    for m in READERS:
        assert "views" in g[m], m
        assert not g[m] & AGENT_INTERNALS, (m, sorted(g[m] & AGENT_INTERNALS))
        assert "TYPE_CHECKING" not in (AGENT / f"{m}.py").read_text(), m


@pytest.mark.parametrize("part", [porthole.agent, porthole.server], ids=["agent", "server"])
def test_every_module_is_in_its_readme_table(part):
    """The part's README names what each module owns (issue 9, "Done when"): a new module gets its row."""
    folder = Path(part.__file__).parent
    rows = [ln for ln in (folder / "README.md").read_text().splitlines() if ln.startswith("| `")]
    named = set(re.findall(r"`([a-z_]+\.py)`", "\n".join(row.split(" | ")[0] for row in rows)))
    modules = {p.name for p in folder.glob("*.py") if p.name != "__init__.py"}
    assert len(modules) > 20, modules
    assert modules - named == set(), f"modules missing from {folder.name}/README.md's table"
    assert named - modules == set(), f"{folder.name}/README.md names modules that do not exist"
