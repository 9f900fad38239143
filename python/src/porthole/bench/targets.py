"""The figures issue 10 asks of Porthole, each against its target, from one run's figures.

Each row names the figure, what Porthole measured, the target (with the
reference it is computed from, written out), the ratio, and whether it is met.
A figure whose section did not run (or did not produce it) reads "not measured".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from porthole.bench.figures import Figure, num

# The figures the targets are computed from, by section and name.
KEYS_P, KEYS_BIN = ("keystroke", "Porthole, JSON mode"), ("keystroke", "Porthole, binary mode")
KEYS_BRIDGE = ("keystroke", "aiortc bridge (seed 004), JSON")
KEYS_FLOOR_PY = ("keystroke", "docker exec, no WebRTC")
KEYS_FLOOR_NATIVE = ("keystroke", "docker exec, native (Go), no WebRTC")
KEYS_HOP = ("keystroke", "pion ↔ pion, 1-byte echo, no terminal")
OUT_BIN = ("throughput", "Porthole, binary mode")
OUT_FLOOR_PY = ("throughput", "docker exec, no WebRTC")
OUT_FLOOR_NATIVE = ("throughput", "docker exec, native reader (Go), no WebRTC")
CPU_MB = "{}: device CPU per MB"
BRIDGE_THROUGHPUT = "aiortc bridge (seed 004), JSON"
IDLE_CORE_RSS = ("idle", "RSS, porthole-core")
RSS_AFTER_SUFFIX = "after every session closed, porthole-core"

# Targets (issue 10, "Figures it must reach").
KEY_VS_BRIDGE = 0.75  # keystroke median ≤ this × the aiortc bridge's
KEY_OVER_FLOOR_MS = 0.4  # keystroke median ≤ docker exec floor + pion ↔ pion hop + this
KEY_P99_MS = 3.0
OUT_VS_FLOOR = 0.9  # binary output ≥ this × the docker exec floor
CPU_VS_BRIDGE = 0.5  # device CPU per MB ≤ this × the bridge's
CONC_SESSIONS = 200
CONC_P99_MS = 20.0
CONC_AGENT_CPU_PCT = 0.05  # % of a core per session
RSS_VS_IDLE = 1.25


@dataclass
class Row:
    figure: str
    measured: str
    target: str
    ratio: str
    met: bool | None  # None: not measured

    @property
    def result(self) -> str:
        return "not measured" if self.met is None else "met" if self.met else "NOT met"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "result": self.result}


def _ok(x: float | None) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x))


def _times(a: float, b: float, what: str) -> str:
    """a / b written out, "-" when b is 0 (a figure under the clock's resolution in a short run)."""
    return f"{a / b:.2f}× {what}" if b else "-"


def _missing(figure: str, target: str) -> Row:
    return Row(figure, "-", target, "-", None)


def rows(figures: list[Figure]) -> list[Row]:
    by = {(f.section, f.name): f for f in figures}

    def med(key: tuple[str, str]) -> float | None:
        f = by.get(key)
        return f.median if f is not None and _ok(f.median) else None

    def p99(key: tuple[str, str]) -> float | None:
        f = by.get(key)
        return f.worst if f is not None and _ok(f.worst) else None

    out: list[Row] = []
    bridge = med(KEYS_BRIDGE)
    hop = med(KEYS_HOP)
    floors = {k: v for k, v in (("native", med(KEYS_FLOOR_NATIVE)), ("Python", med(KEYS_FLOOR_PY))) if v is not None}
    for mode, key in (("JSON", KEYS_P), ("binary", KEYS_BIN)):
        p = med(key)
        name = f"keystroke round trip median, {mode} mode, vs the aiortc bridge"
        target = f"≤ {KEY_VS_BRIDGE:g} × the bridge"
        if p is None or bridge is None:
            out.append(_missing(name, target))
        else:
            limit = KEY_VS_BRIDGE * bridge
            out.append(
                Row(
                    name,
                    f"{num(p)} ms",
                    f"{target} = {KEY_VS_BRIDGE:g} × {num(bridge)} = {num(limit)} ms",
                    _times(p, bridge, "the bridge"),
                    p <= limit,
                )
            )
        name = f"keystroke round trip median, {mode} mode, vs docker exec floor + pion ↔ pion hop"
        target = f"≤ floor + hop + {KEY_OVER_FLOOR_MS:g} ms"
        if p is None or hop is None or not floors:
            out.append(_missing(name, target))
        else:
            # The lower floor (a native reader's, when measured): the stricter target.
            which, floor = min(floors.items(), key=lambda kv: kv[1])
            limit = floor + hop + KEY_OVER_FLOOR_MS
            out.append(
                Row(
                    name,
                    f"{num(p)} ms",
                    f"{target} = {num(floor)} (docker exec, {which}) + {num(hop)} + "
                    f"{KEY_OVER_FLOOR_MS:g} = {num(limit)} ms",
                    f"floor + hop + {p - floor - hop:.2f} ms",
                    p <= limit,
                )
            )
        name = f"keystroke round trip p99, {mode} mode"
        w = p99(key)
        target = f"≤ {KEY_P99_MS:g} ms"
        out.append(
            _missing(name, target)
            if w is None
            else Row(name, f"{num(w)} ms", target, f"{w / KEY_P99_MS:.2f}× the target", w <= KEY_P99_MS)
        )

    b = med(OUT_BIN)
    for which, key in (("native reader (Go)", OUT_FLOOR_NATIVE), ("Python reader", OUT_FLOOR_PY)):
        name = f"binary-mode output vs docker exec floor, {which}"
        target = f"≥ {OUT_VS_FLOOR:g} × the floor"
        out_floor = med(key)
        if b is None or out_floor is None:
            out.append(_missing(name, target))
        else:
            limit = OUT_VS_FLOOR * out_floor
            out.append(
                Row(
                    name,
                    f"{num(b)} MB/s",
                    f"{target} = {OUT_VS_FLOOR:g} × {num(out_floor)} = {num(limit)} MB/s",
                    _times(b, out_floor, "the floor"),
                    b >= limit,
                )
            )

    ref = med(("throughput", CPU_MB.format(BRIDGE_THROUGHPUT)))
    for mode in ("binary", "JSON"):
        name = f"device CPU per MB, {mode} mode, vs the aiortc bridge"
        target = f"≤ {CPU_VS_BRIDGE:g} × the bridge"
        c = med(("throughput", CPU_MB.format(f"Porthole, {mode} mode")))
        if c is None or ref is None:
            out.append(_missing(name, target))
        else:
            limit = CPU_VS_BRIDGE * ref
            out.append(
                Row(
                    name,
                    f"{num(c)} ms/MB",
                    f"{target} = {CPU_VS_BRIDGE:g} × {num(ref)} = {num(limit)} ms/MB",
                    _times(c, ref, "the bridge"),
                    c <= limit,
                )
            )

    out += _concurrency(figures)
    out.append(_rss_after(figures, med(IDLE_CORE_RSS)))
    return out


def _concurrency(figures: list[Figure]) -> list[Row]:
    levels = [
        f
        for f in figures
        if f.section == "concurrency" and f.name.startswith("Porthole N=") and f.name.endswith(": round trip")
    ]
    p99_name = f"{CONC_SESSIONS} sessions × 10 keys/s: round trip p99"
    cpu_name = f"{CONC_SESSIONS} sessions × 10 keys/s: agent CPU per session"
    p99_target, cpu_target = f"≤ {CONC_P99_MS:g} ms", f"≤ {CONC_AGENT_CPU_PCT:g} % of a core"
    if not levels:
        return [_missing(p99_name, p99_target), _missing(cpu_name, cpu_target)]
    top = max(levels, key=lambda f: f.extra["sessions"])
    n = top.extra["sessions"]
    if n != CONC_SESSIONS:  # a quick run: the largest level it had
        p99_name = p99_name.replace(f"{CONC_SESSIONS} sessions", f"N={n} (not {CONC_SESSIONS}: a short run)")
        cpu_name = cpu_name.replace(f"{CONC_SESSIONS} sessions", f"N={n} (not {CONC_SESSIONS}: a short run)")
    floor_name = f"N={n}: round trip"
    floor = next(
        (f for f in figures if f.section == "concurrency" and f.role == "floor" and f.name.endswith(floor_name)),
        None,
    )
    if floor is not None and _ok(floor.worst):
        p99_target += f" (docker exec alone, native, at N={n}: p99 {num(floor.worst)} ms)"
    out = [
        Row(
            p99_name,
            f"{num(top.worst)} ms",
            p99_target,
            f"{top.worst / CONC_P99_MS:.2f}× the target",
            top.worst <= CONC_P99_MS,
        )
        if _ok(top.worst)
        else _missing(p99_name, p99_target)
    ]
    cpu = next((f for f in figures if f.name == f"Porthole N={n}: CPU per session, agent"), None)
    if cpu is None or not _ok(cpu.median):
        out.append(_missing(cpu_name, cpu_target))
    else:
        out.append(
            Row(
                cpu_name,
                f"{cpu.median:.3f} % of a core",
                cpu_target,
                f"{cpu.median / CONC_AGENT_CPU_PCT:.2f}× the target",
                cpu.median <= CONC_AGENT_CPU_PCT,
            )
        )
    return out


def _rss_after(figures: list[Figure], idle: float | None) -> Row:
    after = next((f for f in figures if f.section == "concurrency" and f.name.endswith(RSS_AFTER_SUFFIX)), None)
    wait = after.extra.get("after_s") if after is not None else None
    when = "" if wait is None else f"{wait:g} s "
    name = f"porthole-core RSS {when}after every session closed vs idle"
    target = f"≤ {RSS_VS_IDLE:g} × idle"
    if after is None or idle is None or not _ok(after.median):
        return _missing(name, target)
    limit = RSS_VS_IDLE * idle
    return Row(
        name,
        f"{num(after.median)} MiB",
        f"{target} = {RSS_VS_IDLE:g} × {num(idle)} = {num(limit)} MiB",
        _times(after.median, idle, "idle"),
        after.median <= limit,
    )


def table(figures: list[Figure]) -> str:
    rs = rows(figures)
    width = max(len(r.figure) for r in rs) + 2
    lines = ["", "== Targets (issue 10) =="]
    for r in rs:
        lines.append(f"  {r.figure:<{width}}{r.measured:>18}  {r.result:<13} {r.ratio}; target {r.target}")
    return "\n".join(lines)


def markdown(figures: list[Figure]) -> list[str]:
    rs = rows(figures)
    met = sum(1 for r in rs if r.met)
    measured = sum(1 for r in rs if r.met is not None)
    return [
        "## Targets (issue 10)",
        "",
        "What issue 10 (Python off the byte path) asks of Porthole, from the figures of this run: "
        f"{met} of {measured} measured targets met.",
        "",
        "| figure | Porthole | target | ratio | result |",
        "|---|--:|---|---|---|",
        *[f"| {r.figure} | {r.measured} | {r.target} | {r.ratio} | {r.result} |" for r in rs],
        "",
    ]
