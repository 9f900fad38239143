"""Read constants from porthole-core's Go source, for tests that compare them with Python's.

Only what our limits files use: `const ( Name = expr // comment )` blocks and single
`const Name = expr` lines, where expr is an integer or string literal or integer
arithmetic on literals and constants read before it (`64 << 10`, `2 * maxCells`).
Anything else (`iota`, `time.Second`, a call) is left out, so a test that asks for
such a name fails with KeyError instead of comparing a guess.
"""

from __future__ import annotations

import ast
import operator
import re
from pathlib import Path

CORE_GO = Path(__file__).resolve().parents[2] / "core-go"

_BLOCK = re.compile(r"^const\s*\((.*?)^\)", re.M | re.S)
_SINGLE = re.compile(r"^const\s+(\w+)(?:\s+\w+)?\s*=\s*(.+)$", re.M)
_SPEC = re.compile(r"^\s*(\w+)(?:\s+[\w.]+)?\s*=\s*(.+?)\s*$")
_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.LShift: operator.lshift,
    ast.BitOr: operator.or_,
}


def _strip_comment(line: str) -> str:
    """The line without a trailing // comment (our limits have no // inside strings)."""
    return line.split("//", 1)[0].strip()


def _eval(node: ast.expr, known: dict[str, int | str]) -> int | str:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | str) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.Name) and node.id in known:
        return known[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left, known), _eval(node.right, known)
        if isinstance(left, int) and isinstance(right, int):
            return _OPS[type(node.op)](left, right)
    raise ValueError(ast.dump(node))


def parse(source: str) -> dict[str, int | str]:
    """Every constant of the source whose value is a literal or literal arithmetic."""
    specs: list[tuple[str, str]] = []
    for block in _BLOCK.findall(source):
        for line in block.splitlines():
            m = _SPEC.match(_strip_comment(line))
            if m:
                specs.append((m.group(1), m.group(2)))
    for name, expr in _SINGLE.findall(source):
        specs.append((name, _strip_comment(expr)))
    out: dict[str, int | str] = {}
    for name, expr in specs:
        try:
            out[name] = _eval(ast.parse(expr, mode="eval").body, out)
        except (SyntaxError, ValueError):
            continue  # iota, durations, calls: not a plain value
    return out


def constants(*files: str) -> dict[str, int | str]:
    """The constants of some files under core-go/ (paths relative to it), merged."""
    out: dict[str, int | str] = {}
    for f in files:
        out.update(parse((CORE_GO / f).read_text(encoding="utf-8")))
    return out
