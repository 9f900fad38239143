"""Keystroke round trip: one byte typed, echoed by the shell in the container."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from porthole.bench import refs
from porthole.bench.context import Context
from porthole.bench.figures import Figure, Role, num
from porthole.bench.sections import notes, section

KEY = "keystroke"
NATIVE_FLOOR = "docker exec, native (Go), no WebRTC"
# The paths take turns, this many blocks each, so that a change in the
# machine's load during the run touches every path alike.
BLOCKS = 10
# Keystrokes not counted at the start of each later block (the first has the mode's warm-up).
BLOCK_WARMUP = 2


@section(
    KEY,
    "Keystroke round trip",
    """\
The client types one byte and times until the shell's echo of it arrives:
`x` (echoed as `x`) and DEL (echoed as `\\b` plus an erase sequence) in
turn, so the line stays empty, into busybox `sh -i` in a container of the
target image. The paths take turns in blocks (each path's sessions stay
open throughout), so that other load on the machine falls on all of them
alike. One keystroke every interval, or later if the last echo is late (never
two in flight), after a warm-up that is not counted; a keystroke whose
echo does not come within 5 s is counted as lost. Paths:
**Porthole** = pion client ↔ porthole-core ↔ docker exec (the agent creates
the exec and hands its stream to porthole-core, off the byte path from then
on), session opened through the real server, timed in the pion client;
**aiortc bridge** = the same pion client ↔ the seed-004 bridge
(aiortc + docker exec in one Python process); **docker exec** (the floor) =
the agent's DockerExec used straight from the bench process, no WebRTC and
no gRPC, timed there, and the same exec read natively (**docker exec, native**:
the Go bench client creates it, hijacks its stream and times there, with no
Python; `core-go/internal/benchpeer/dockerexec.go`); **pion ↔ pion** = the transport alone: two pion peers
in the client process, one echoing each 1-byte message straight back (the
least a WebRTC hop adds); **porthole-core + gRPC** (diagnostic) = the pion
client ↔ a porthole-core of its own ↔ a stand-in agent in the bench process
that carries the bytes on the Terminal gRPC stream with grpc.aio (the path
before the descriptor handoff) and echoes like the shell, with no Docker and
no PTY.""",
)
async def run(ctx: Context) -> list[Figure]:
    p = ctx.params
    stack, peer = await ctx.stack(), await ctx.peer()
    container = await ctx.container("keys")
    blocks = max(1, min(BLOCKS, p.keystrokes // 10))
    per_block = max(1, p.keystrokes // blocks)
    how = (
        f"{per_block * blocks} keystrokes, one per {p.keystroke_interval_ms:g} ms, paths taking turns in "
        f"{blocks} blocks, each after {BLOCK_WARMUP} warm-up ({p.keystroke_warmup} in the first)"
    )
    timeout = (per_block + p.keystroke_warmup) * (p.keystroke_interval_ms / 1000 + 0.05) + 60
    interval_ms = p.keystroke_interval_ms

    json_s = await stack.open_terminal(container)
    bin_s = await stack.open_terminal(container, binary=True)
    bridge_peer, _ = await refs.open_bridge(ctx, container)
    ex, _ = await refs.open_exec(ctx, container)
    native = await refs.open_native_exec(ctx, container)
    coreonly = await ctx.coreonly()
    diag_peer = await coreonly.open()

    async def pion(name: str, warmup: int) -> tuple[list[float], int]:
        r = await peer.request(
            "echo", peer=name, count=per_block, warmup=warmup, interval_ms=interval_ms, timeout=timeout
        )
        return [x / 1000 for x in r["rtt_us"]], r["lost"]

    async def raw(warmup: int) -> tuple[list[float], int]:
        r = await peer.request("raw_echo", count=per_block, warmup=warmup, interval_ms=interval_ms, timeout=timeout)
        return [x / 1000 for x in r["rtt_us"]], r["lost"]

    paths: dict[tuple[str, Role], Callable[[int], Awaitable[tuple[list[float], int]]]] = {
        ("Porthole, JSON mode", "porthole"): lambda w: pion(json_s.peer, w),
        ("Porthole, binary mode", "porthole"): lambda w: pion(bin_s.peer, w),
        ("aiortc bridge (seed 004), JSON", "reference"): lambda w: pion(bridge_peer, w),
        ("docker exec, no WebRTC", "floor"): lambda w: refs.exec_echo(ex, per_block, w, interval_ms / 1000),
        (NATIVE_FLOOR, "floor"): lambda w: refs.native_echo(ctx, native, per_block, w, interval_ms),
        ("pion ↔ pion, 1-byte echo, no terminal", "ceiling"): raw,
        ("porthole-core + gRPC, stand-in agent, no Docker", "diagnostic"): lambda w: pion(diag_peer, w),
    }
    samples: dict[tuple[str, str], list[float]] = {k: [] for k in paths}
    lost = dict.fromkeys(paths, 0)
    try:
        for block in range(blocks):
            warmup = p.keystroke_warmup if block == 0 else BLOCK_WARMUP
            for key, measure in paths.items():
                got, n_lost = await measure(warmup)
                samples[key] += got
                lost[key] += n_lost
    finally:
        await stack.close_terminal(json_s)
        await stack.close_terminal(bin_s)
        await peer.request("close", peer=bridge_peer)
        await ex.kill()
        await refs.close_native_exec(ctx, native)
        await coreonly.close(diag_peer)
    return [
        Figure.of(
            KEY,
            name,
            role,
            "ms",
            samples[(name, role)],
            how.replace("keystrokes", "messages") if role == "ceiling" else how,
            lost=lost[(name, role)],
        )
        for name, role in paths
    ]


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.name: f for f in figs}
    j, b = by["Porthole, JSON mode"], by["Porthole, binary mode"]
    a, f = by["aiortc bridge (seed 004), JSON"], by["docker exec, no WebRTC"]
    c = by["pion ↔ pion, 1-byte echo, no terminal"]
    out = [
        f"A keystroke comes back through Porthole in {num(j.median)} ms median (p99 {num(j.worst)} ms; "
        f"binary mode {num(b.median)} ms), {num(j.median - f.median)} ms above the docker exec floor "
        f"({num(f.median)} ms, p99 {num(f.worst)}), of which the WebRTC hop itself (pion ↔ pion) is "
        f"{num(c.median)} ms; the aiortc bridge takes {num(a.median)} ms (p99 {num(a.worst)} ms)."
    ]
    nf = by.get(NATIVE_FLOOR)
    if nf is not None:
        out.append(
            f"Read natively (Go, no Python) the same docker exec echoes in {num(nf.median)} ms "
            f"(p99 {num(nf.worst)}): the Python floor's share of its {num(f.median)} ms is "
            f"{num(f.median - nf.median)} ms."
        )
    d = by.get("porthole-core + gRPC, stand-in agent, no Docker")
    if d is not None:
        out.append(
            f"Without Docker (porthole-core and a Python stand-in agent carrying the bytes on the "
            f"Terminal gRPC stream, the path before the descriptor handoff) a keystroke takes "
            f"{num(d.median)} ms: porthole-core, the gRPC hop and Python's grpc.aio add "
            f"{num(d.median - c.median)} ms to the bare WebRTC hop."
        )
    return out
