"""Output throughput: N MB of base64 written by the container, until the client has all of it."""

from __future__ import annotations

from porthole.bench import refs
from porthole.bench.context import Context
from porthole.bench.figures import Figure
from porthole.bench.sections import notes, section

KEY = "throughput"


@section(KEY, "Output throughput", """\
The client types `head -c N /dev/urandom | base64; echo BENCH_''DONE` into
the shell and times from sending it to receiving the marker `BENCH_DONE`;
throughput = output bytes received (base64 with the PTY's CRLF line ends,
about 1.37 N) / that time, in MB/s (10^6 bytes). Each path runs the command
several times in one session; every run is a sample. Paths: **Porthole JSON**
(`{"type":"output"}` messages, decoded by the client), **Porthole binary**
(`porthole-binary` sub-protocol, raw bytes), **aiortc bridge** (seed 004,
JSON), **pion ↔ pion** (the ceiling of this transport: two pion peers in the
bench client process on the same interface, 16 KiB messages with the
sidecar's 1 MiB / 256 KiB buffered-amount marks, no terminal, no agent), and
**docker exec** alone (what the PTY and Docker deliver to the agent's
DockerExec with no WebRTC).""")
async def run(ctx: Context) -> list[Figure]:
    p = ctx.params
    stack, peer = await ctx.stack(), await ctx.peer()
    container = await ctx.container("tput")
    command, marker = refs.throughput_command(p.throughput_bytes)
    mib = p.throughput_bytes / (1 << 20)
    how = f"{p.throughput_reps} runs of {mib:g} MiB of urandom as base64"
    timeout = 600.0

    async def drain(name: str) -> list[float]:
        out = []
        for _ in range(p.throughput_reps):
            r = await peer.request("drain", peer=name, input=command, marker=marker, timeout_s=timeout,
                                   timeout=timeout + 10)
            out.append(r["bytes"] / r["seconds"] / 1e6)
        return out

    figs = []
    for binary in (False, True):
        s = await stack.open_terminal(container, binary=binary)
        mode = "binary" if binary else "JSON"
        figs.append(Figure.of(KEY, f"Porthole, {mode} mode", "porthole", "MB/s", await drain(s.peer), how,
                              better="higher"))
        await stack.close_terminal(s)
    name, _ = await refs.open_bridge(ctx, container)
    figs.append(Figure.of(KEY, "aiortc bridge (seed 004), JSON", "reference", "MB/s", await drain(name), how,
                          better="higher"))
    await peer.request("close", peer=name)
    raw = []
    for _ in range(p.throughput_reps):
        r = await peer.request("raw", bytes=p.raw_bytes, timeout_s=timeout, timeout=timeout + 10)
        raw.append(p.raw_bytes / r["seconds"] / 1e6)
    figs.append(Figure.of(KEY, "pion ↔ pion data channel", "ceiling", "MB/s", raw,
                          f"{p.throughput_reps} runs of {p.raw_bytes >> 20} MiB", better="higher"))
    ex, _ = await refs.open_exec(ctx, container)
    floor = []
    for _ in range(p.throughput_reps):
        n, took = await refs.exec_drain(ex, p.throughput_bytes)
        floor.append(n / took / 1e6)
    await ex.kill()
    figs.append(Figure.of(KEY, "docker exec, no WebRTC", "floor", "MB/s", floor, how, better="higher"))
    return figs


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.name: f for f in figs}
    j, b = by["Porthole, JSON mode"], by["Porthole, binary mode"]
    a, c = by["aiortc bridge (seed 004), JSON"], by["pion ↔ pion data channel"]
    d = by["docker exec, no WebRTC"]
    return [f"Porthole delivers {j.median:.1f} MB/s in JSON mode and {b.median:.1f} MB/s in binary mode, "
            f"{b.median / c.median:.0%} of the pion ↔ pion ceiling ({c.median:.1f} MB/s) and "
            f"{b.median / a.median:.1f}× the aiortc bridge ({a.median:.1f} MB/s); docker exec alone "
            f"gives {d.median:.1f} MB/s."]
