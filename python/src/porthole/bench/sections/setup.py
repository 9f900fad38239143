"""Session setup: from the offer sent to the first byte of the shell prompt."""

from __future__ import annotations

import asyncio

from porthole.bench import refs
from porthole.bench.context import Context
from porthole.bench.figures import Figure
from porthole.bench.sections import notes, section

KEY = "setup"
# Between sessions: let the previous one's close (exec kill, peer close) finish.
PAUSE_S = 0.3


@section(
    KEY,
    "Session setup",
    """\
A pion client opens a terminal like the browser page: `session:open` on the
real server (not counted in the total: it happens before the offer), then the
offer with all of its candidates; the device's answer and candidates trickle
back through the server. Phases, each timed where it ends:
**signaling** = offer emitted → answer event received (client → server →
agent: grant check, CreateSession in porthole-core → server → client; timed
in the orchestrator), **ICE/DTLS** = answer applied → `terminal` channel open
(ICE checks, DTLS handshake, SCTP association, channel open; timed in the pion
client), **exec start** = channel open → first byte of the shell prompt (the
agent starts `docker exec` only once the channel is open; timed in the pion
client). Sessions run one after another in JSON mode, each closed before the
next. References: the aiortc bridge (no signaling server: its "signaling" is
one stdin/stdout hop to the bridge, which answers with complete SDP), and
`docker exec` alone (exec create → first prompt byte, the agent's DockerExec).""",
)
async def run(ctx: Context) -> list[Figure]:
    stack = await ctx.stack()
    peer = await ctx.peer()
    container = await ctx.container("setup")
    reps = ctx.params.setup_reps
    ph: dict[str, list[float]] = {k: [] for k in ("open", "signaling", "ice", "exec", "total")}
    br: dict[str, list[float]] = {k: [] for k in ("signaling", "ice", "exec", "total")}
    floor = []
    for _ in range(reps):  # the three take turns, so load on the machine falls on all alike
        s = await stack.open_terminal(container)
        ph["open"].append(s.open_s * 1000)
        ph["signaling"].append(s.signaling_s * 1000)
        ph["ice"].append(s.ice_dtls_s * 1000)
        ph["exec"].append(s.exec_s * 1000)
        ph["total"].append((s.signaling_s + s.ice_dtls_s + s.exec_s) * 1000)
        await stack.close_terminal(s)
        await asyncio.sleep(PAUSE_S)
        name, split = await refs.open_bridge(ctx, container)
        br["signaling"].append(split["signaling_s"] * 1000)
        br["ice"].append(split["ice_dtls_s"] * 1000)
        br["exec"].append(split["exec_s"] * 1000)
        br["total"].append(sum(split.values()) * 1000)
        await peer.request("close", peer=name)
        await asyncio.sleep(PAUSE_S)
        ex, took = await refs.open_exec(ctx, container)
        floor.append(took * 1000)
        await ex.kill()
    n = f"{reps} sessions, one at a time, taking turns with the references"
    return [
        Figure.of(KEY, "Porthole: total, offer → first prompt byte", "porthole", "ms", ph["total"], n),
        Figure.of(
            KEY,
            "Porthole: signaling, offer → answer",
            "porthole",
            "ms",
            ph["signaling"],
            f"{n}; via the real server and agent",
        ),
        Figure.of(KEY, "Porthole: ICE/DTLS, answer → channel open", "porthole", "ms", ph["ice"], n),
        Figure.of(KEY, "Porthole: exec start, channel open → first byte", "porthole", "ms", ph["exec"], n),
        Figure.of(
            KEY,
            "Porthole: session:open (before the offer)",
            "porthole",
            "ms",
            ph["open"],
            f"{n}; authorization and grant, not in the total",
        ),
        Figure.of(
            KEY,
            "aiortc bridge: total, offer → first prompt byte",
            "reference",
            "ms",
            br["total"],
            f"{n}; no signaling server",
        ),
        Figure.of(KEY, "aiortc bridge: offer → answer", "reference", "ms", br["signaling"], n),
        Figure.of(KEY, "aiortc bridge: ICE/DTLS, answer → channel open", "reference", "ms", br["ice"], n),
        Figure.of(KEY, "aiortc bridge: exec start, channel open → first byte", "reference", "ms", br["exec"], n),
        Figure.of(
            KEY,
            "docker exec alone: create → first prompt byte",
            "floor",
            "ms",
            floor,
            f"{reps} execs, the agent's DockerExec from the bench process",
        ),
    ]


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.name: f for f in figs}
    t = by["Porthole: total, offer → first prompt byte"]
    s = by["Porthole: signaling, offer → answer"]
    i = by["Porthole: ICE/DTLS, answer → channel open"]
    e = by["Porthole: exec start, channel open → first byte"]
    b = by["aiortc bridge: total, offer → first prompt byte"]
    f = by["docker exec alone: create → first prompt byte"]
    return [
        f"A Porthole terminal is ready {t.median:.0f} ms (median) after the offer: signaling "
        f"{s.median:.0f} ms, ICE/DTLS {i.median:.0f} ms, exec start {e.median:.0f} ms "
        f"(docker exec alone: {f.median:.0f} ms). The aiortc bridge, with no server in the way, "
        f"takes {b.median:.0f} ms."
    ]
