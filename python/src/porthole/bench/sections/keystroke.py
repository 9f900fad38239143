"""Keystroke round trip: one byte typed, echoed by the shell in the container."""

from __future__ import annotations

from porthole.bench import refs
from porthole.bench.context import Context
from porthole.bench.figures import Figure
from porthole.bench.sections import notes, section

KEY = "keystroke"


@section(KEY, "Keystroke round trip", """\
The client types one byte and times until the shell's echo of it arrives:
`x` (echoed as `x`) and DEL (echoed as `\\b` plus an erase sequence) in
turn, so the line stays empty, into busybox `sh -i` in a container of the
target image. One keystroke every interval (no overlap: each echo arrives long
before the next key), after a warm-up that is not counted; a keystroke whose
echo does not come within 5 s is counted as lost. Paths:
**Porthole** = pion client ↔ porthole-core ↔ agent (gRPC) ↔ docker exec,
session opened through the real server, timed in the pion client;
**aiortc bridge** = the same pion client ↔ the seed-004 bridge
(aiortc + docker exec in one Python process); **docker exec** (the floor) =
the agent's DockerExec used straight from the bench process, no WebRTC and
no gRPC, timed there; **pion ↔ pion** = the transport alone: two pion peers
in the client process, one echoing each 1-byte message straight back (the
least a WebRTC hop adds).""")
async def run(ctx: Context) -> list[Figure]:
    p = ctx.params
    stack, peer = await ctx.stack(), await ctx.peer()
    container = await ctx.container("keys")
    how = (f"{p.keystrokes} keystrokes, one per {p.keystroke_interval_ms:g} ms, after "
           f"{p.keystroke_warmup} warm-up")
    timeout = (p.keystrokes + p.keystroke_warmup) * (p.keystroke_interval_ms / 1000 + 0.05) + 60
    figs = []
    for binary in (False, True):
        s = await stack.open_terminal(container, binary=binary)
        r = await peer.request("echo", peer=s.peer, count=p.keystrokes, warmup=p.keystroke_warmup,
                               interval_ms=p.keystroke_interval_ms, timeout=timeout)
        mode = "binary" if binary else "JSON"
        figs.append(Figure.of(KEY, f"Porthole, {mode} mode", "porthole", "ms", [x / 1000 for x in r["rtt_us"]],
                              how, lost=r["lost"]))
        await stack.close_terminal(s)
    name, _ = await refs.open_bridge(ctx, container)
    r = await peer.request("echo", peer=name, count=p.keystrokes, warmup=p.keystroke_warmup,
                           interval_ms=p.keystroke_interval_ms, timeout=timeout)
    figs.append(Figure.of(KEY, "aiortc bridge (seed 004), JSON", "reference", "ms",
                          [x / 1000 for x in r["rtt_us"]], how, lost=r["lost"]))
    await peer.request("close", peer=name)
    ex, _ = await refs.open_exec(ctx, container)
    samples, lost = await refs.exec_echo(ex, p.keystrokes, p.keystroke_warmup, p.keystroke_interval_ms / 1000)
    await ex.kill()
    figs.append(Figure.of(KEY, "docker exec, no WebRTC", "floor", "ms", samples, how, lost=lost))
    r = await peer.request("raw_echo", count=p.keystrokes, warmup=p.keystroke_warmup,
                           interval_ms=p.keystroke_interval_ms, timeout=timeout)
    figs.append(Figure.of(KEY, "pion ↔ pion, 1-byte echo, no terminal", "ceiling", "ms",
                          [x / 1000 for x in r["rtt_us"]], how.replace("keystrokes", "messages"), lost=r["lost"]))
    return figs


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.name: f for f in figs}
    j, b = by["Porthole, JSON mode"], by["Porthole, binary mode"]
    a, f = by["aiortc bridge (seed 004), JSON"], by["docker exec, no WebRTC"]
    c = by["pion ↔ pion, 1-byte echo, no terminal"]
    return [f"A keystroke comes back through Porthole in {j.median:.2f} ms median (p99 {j.worst:.2f} ms; "
            f"binary mode {b.median:.2f} ms), {j.median - f.median:.2f} ms above the docker exec floor "
            f"({f.median:.2f} ms), of which the WebRTC hop itself (pion ↔ pion) is {c.median:.2f} ms; "
            f"the aiortc bridge takes {a.median:.2f} ms (p99 {a.worst:.2f} ms)."]
