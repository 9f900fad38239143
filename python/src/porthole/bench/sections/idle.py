"""Idle footprint: the agent and porthole-core connected, with no session."""

from __future__ import annotations

import asyncio

from porthole.bench import procstat
from porthole.bench.context import Context
from porthole.bench.figures import Figure, Role
from porthole.bench.sections import notes, section

KEY = "idle"
# After start: imports done, sidecar healthy, inventory sent; let allocations settle.
SETTLE_S = 2.0
# RSS is sampled this often over the idle window.
SAMPLE_EVERY_S = 0.5


@section(
    KEY,
    "Idle footprint",
    """\
RSS (VmRSS from /proc) and CPU of the processes on the device with no session:
the agent (Python) and porthole-core (Go), started as `make run` starts them
and connected to the server, sampled every 0.5 s over the idle window after a
2 s settle. The reference is the seed-004 aiortc bridge process (aiortc and the
Docker SDK imported, ready for offers), measured the same way. The agent polls
Docker for its inventory every 5 s (the default), which is most of its idle CPU.""",
)
async def run(ctx: Context) -> list[Figure]:
    stack = await ctx.stack()
    bridge = await ctx.bridge()
    await asyncio.sleep(SETTLE_S)
    pids = {"agent": stack.agent_pid, "porthole-core": stack.sidecar_pid, "aiortc bridge": bridge.pid}
    rss: dict[str, list[float]] = {k: [] for k in pids}
    meter = procstat.CpuMeter(pids)
    meter.start()
    for _ in range(max(1, int(ctx.params.idle_seconds / SAMPLE_EVERY_S))):
        for k, pid in pids.items():
            rss[k].append(procstat.rss_kib(pid) / 1024)
        await asyncio.sleep(SAMPLE_EVERY_S)
    cpu = meter.stop()
    window = f"{ctx.params.idle_seconds:g} s"
    roles: dict[str, Role] = {"agent": "porthole", "porthole-core": "porthole", "aiortc bridge": "reference"}
    figs = []
    for k in pids:
        figs.append(
            Figure.of(
                KEY,
                f"RSS, {k}",
                roles[k],
                "MiB",
                rss[k],
                f"VmRSS sampled every {SAMPLE_EVERY_S} s over {window}, no session",
            )
        )
    for k in pids:
        figs.append(
            Figure.of(
                KEY,
                f"CPU, {k}",
                roles[k],
                "% of a core",
                [cpu[k] * 100],
                f"(utime+stime) over {window} / wall time, no session",
            )
        )
    return figs


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.name: f for f in figs}
    a, c, b = by["RSS, agent"], by["RSS, porthole-core"], by["RSS, aiortc bridge"]
    return [
        f"Idle, Porthole's two processes hold {a.median + c.median:.0f} MiB together "
        f"(agent {a.median:.0f}, porthole-core {c.median:.0f}); the one-process aiortc bridge "
        f"holds {b.median:.0f} MiB."
    ]
