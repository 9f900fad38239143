"""Concurrency: N terminal sessions on one agent, each typing a keystroke every 100 ms."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from porthole.bench import procstat, refs
from porthole.bench.context import Context
from porthole.bench.figures import Figure, Role, num
from porthole.bench.sections import notes, section

KEY = "concurrency"
T = TypeVar("T")
INTERVAL_MS = 100.0
WARMUP = 3
# Sessions opened at once; the page opens one per tab, this is many tabs at once.
OPEN_PARALLEL = 8
# After opening: let the execs' shells settle before measuring RSS and CPU.
SETTLE_S = 1.0
# Processes whose RSS per session is reported.
RSS_OF = ("agent", "porthole-core", "client")
# porthole-core returns its heap to the OS 5 s after its last session closed
# (core-go/internal/memory, IdleDelay): each level waits it out before its
# "before" RSS, so that the release neither lands inside a level's delta nor
# leaves the previous level's heap in its baseline.
RELEASE_WAIT_S = 6.0
# Every session's exec must be gone this long after the disconnects.
CLOSE_TIMEOUT_S = 60.0


@section(
    KEY,
    "Concurrency",
    f"""\
N terminal sessions on one agent (one porthole-core), opened through the real
server ({OPEN_PARALLEL} at a time) on one container, all JSON mode; then every
session types one keystroke every {INTERVAL_MS:g} ms (x / DEL as in the keystroke
section, schedules spread over the interval) for the set number of keystrokes,
after {WARMUP} warm-up ones. Round trips from all sessions are pooled: median and
p99. **CPU per session** = (utime+stime of the process over the typing window /
window) / N, in % of one core. **RSS per session** = (VmRSS with N sessions open
− VmRSS before opening) / N, "before" read {RELEASE_WAIT_S:g} s after the previous
level closed (porthole-core returns its heap to the OS 5 s after its last session).
**RSS after every session closed** is read a set time after the last level's
sessions closed (60 s in the full run), to compare with the idle figure. The
pion client of all N sessions runs in one Go process on the same 2 cores (its
CPU is in the notes). **dockerd + containerd** is what Docker itself spends
carrying the execs' bytes, the same for any exec bridge; **machine busy** is
how much of all cores every process on the machine used meanwhile (near 100 %:
the machine was saturated, and round trips queue for CPU). The reference is
the seed-004 aiortc bridge carrying N sessions in its one process, measured
the same way at fewer N. The floor is the top level's N shells as plain docker
execs, read and typed into natively by the Go client (no WebRTC, no Porthole):
what Docker and this machine allow any bridge at that N.""",
)
async def run(ctx: Context) -> list[Figure]:
    p = ctx.params
    stack, peer = await ctx.stack(), await ctx.peer()
    container = await ctx.container("conc")
    base_procs = ctx.container_processes("conc")
    figs: list[Figure] = []
    how = f"{p.concurrency_keystrokes} keystrokes per session, one per {INTERVAL_MS:g} ms"
    timeout = p.concurrency_keystrokes * INTERVAL_MS / 1000 * 3 + 120
    for n in p.concurrency_levels:
        single = {"agent": stack.agent_pid, "porthole-core": stack.sidecar_pid, "client": peer.pid}
        pids: dict[str, int | list[int]] = {**single, "docker": procstat.pids_by_comm(procstat.DOCKER_COMMS)}
        await asyncio.sleep(RELEASE_WAIT_S)
        rss0 = {k: procstat.rss_kib(single[k]) for k in RSS_OF}
        sessions = await _open_all(n, lambda: stack.open_terminal(container))
        rss1 = {k: procstat.rss_kib(single[k]) for k in RSS_OF}
        r, cpu, busy = await _type_all(ctx, pids, timeout, "echo_many", peers=[s.peer for s in sessions])
        await asyncio.gather(*(stack.close_terminal(s) for s in sessions))
        await _wait_procs(ctx, "conc", base_procs)
        label = f"N={n}"
        figs.append(
            _round_trip(
                f"Porthole {label}",
                "porthole",
                r,
                f"{how}; {n} sessions pooled",
                n,
                cpu,
                busy,
                rss_before_kib=rss0,
                rss_open_kib=rss1,
            )
        )
        figs.append(
            Figure.of(
                KEY,
                f"Porthole {label}: CPU per session, dockerd + containerd",
                "floor",
                "% core",
                [cpu["docker"] * 100 / n],
                f"total {cpu['docker'] * 100:.1f} % of a core / {n}; the Docker side of any exec bridge",
            )
        )
        figs.append(_machine_busy(f"Porthole {label}", "porthole", busy))
        for k in ("agent", "porthole-core"):
            figs.append(
                Figure.of(
                    KEY,
                    f"Porthole {label}: CPU per session, {k}",
                    "porthole",
                    "% core",
                    [cpu[k] * 100 / n],
                    f"total {cpu[k] * 100:.1f} % of a core / {n}",
                )
            )
        for k in ("agent", "porthole-core"):
            figs.append(
                Figure.of(
                    KEY,
                    f"Porthole {label}: RSS per session, {k}",
                    "porthole",
                    "KiB",
                    [(rss1[k] - rss0[k]) / n],
                    f"({rss1[k]} − {rss0[k]} KiB) / {n}",
                )
            )

    last_closed = asyncio.get_running_loop().time()
    figs += await _floor(ctx, container, base_procs, max(p.concurrency_levels), how, timeout)
    bridge = await ctx.bridge()
    for n in p.bridge_concurrency_levels:
        ref_pids = {"aiortc bridge": bridge.pid, "client": peer.pid}
        rss0 = {k: procstat.rss_kib(v) for k, v in ref_pids.items()}
        names = [(await refs.open_bridge(ctx, container))[0] for _ in range(n)]
        await asyncio.sleep(SETTLE_S)
        rss1 = {k: procstat.rss_kib(v) for k, v in ref_pids.items()}
        r, cpu, busy = await _type_all(ctx, dict(ref_pids), timeout, "echo_many", peers=names)
        for name in names:
            await peer.request("close", peer=name)
        label = f"N={n}"
        k = "aiortc bridge"
        figs.append(
            _round_trip(
                f"aiortc bridge {label}",
                "reference",
                r,
                f"{how}; {n} sessions pooled",
                n,
                cpu,
                busy,
                rss_before_kib=rss0,
                rss_open_kib=rss1,
            )
        )
        figs.append(
            Figure.of(
                KEY,
                f"aiortc bridge {label}: CPU per session",
                "reference",
                "% core",
                [cpu[k] * 100 / n],
                f"total {cpu[k] * 100:.1f} % of a core / {n}",
            )
        )
        figs.append(
            Figure.of(
                KEY,
                f"aiortc bridge {label}: RSS per session",
                "reference",
                "KiB",
                [(rss1[k] - rss0[k]) / n],
                f"({rss1[k]} − {rss0[k]} KiB) / {n}",
            )
        )

    # The floor and the bridge levels ran meanwhile; wait out the rest.
    await asyncio.sleep(max(0.0, last_closed + p.rss_after_s - asyncio.get_running_loop().time()))
    after = {"agent": stack.agent_pid, "porthole-core": stack.sidecar_pid}
    for k, pid in after.items():
        figs.append(
            Figure.of(
                KEY,
                f"RSS {p.rss_after_s:g} s after every session closed, {k}",
                "porthole",
                "MiB",
                [procstat.rss_kib(pid) / 1024],
                f"VmRSS {p.rss_after_s:g} s after the last level's sessions were gone (compare with the idle figure)",
                after_s=p.rss_after_s,
            )
        )
    return figs


async def _floor(ctx: Context, container: str, base_procs: int, n: int, how: str, timeout: float) -> list[Figure]:
    """The top level's N shells as plain docker execs read natively (the Go client, no WebRTC,
    no Porthole), typing the same way: what Docker and this machine's cores allow any bridge."""
    peer = await ctx.peer()
    pids: dict[str, int | list[int]] = {"client": peer.pid, "docker": procstat.pids_by_comm(procstat.DOCKER_COMMS)}
    names = await _open_all(n, lambda: refs.open_native_exec(ctx, container))
    r, cpu, busy = await _type_all(ctx, pids, timeout, "exec_echo_many", execs=names)
    await asyncio.gather(*(refs.close_native_exec(ctx, x) for x in names))
    await _wait_procs(ctx, "conc", base_procs)
    label = f"docker exec, native (Go), no WebRTC, N={n}"
    return [
        _round_trip(label, "floor", r, f"{how}; {n} execs pooled, read by the Go client", n, cpu, busy),
        _machine_busy(label, "floor", busy),
    ]


async def _open_all(n: int, open_one: Callable[[], Awaitable[T]]) -> list[T]:
    """n sessions (or execs), OPEN_PARALLEL at a time, then SETTLE_S for their shells."""
    sem = asyncio.Semaphore(OPEN_PARALLEL)

    async def one() -> T:
        async with sem:
            return await open_one()

    opened = await asyncio.gather(*(one() for _ in range(n)))
    await asyncio.sleep(SETTLE_S)
    return list(opened)


async def _type_all(
    ctx: Context, pids: dict[str, int | list[int]], timeout: float, op: str, **which: Any
) -> tuple[dict[str, Any], dict[str, float], float]:
    """Every session (or exec) in which types at 10 keys/s (op: echo_many or exec_echo_many);
    the client's result, the CPU share of pids and how busy the machine was meanwhile."""
    p = ctx.params
    meter, machine = procstat.CpuMeter(pids), procstat.MachineMeter()
    meter.start()
    machine.start()
    r = await (await ctx.peer()).request(
        op, count=p.concurrency_keystrokes, warmup=WARMUP, interval_ms=INTERVAL_MS, timeout=timeout, **which
    )
    return r, meter.stop(), machine.stop()


def _round_trip(
    label: str, role: Role, r: dict[str, Any], how: str, n: int, cpu: dict[str, float], busy: float, **extra: Any
) -> Figure:
    return Figure.of(
        KEY,
        f"{label}: round trip",
        role,
        "ms",
        [x / 1000 for x in r["rtt_us"]],
        how,
        lost=r["lost"],
        sessions=n,
        cpu_share=cpu,
        machine_busy=busy,
        **extra,
    )


def _machine_busy(label: str, role: Role, busy: float) -> Figure:
    return Figure.of(
        KEY,
        f"{label}: machine busy",
        role,
        "% of all cores",
        [busy * 100],
        "/proc/stat over the typing window, every process on the machine",
    )


async def _wait_procs(ctx: Context, name: str, base: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CLOSE_TIMEOUT_S
    while (left := ctx.container_processes(name)) > base:
        if loop.time() > deadline:
            raise AssertionError(f"{left - base} exec processes still running {CLOSE_TIMEOUT_S:g} s after close")
        await asyncio.sleep(0.2)


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    rtt = [f for f in figs if f.name.startswith("Porthole N=") and f.name.endswith("round trip")]
    if not rtt:
        return []
    top = max(rtt, key=lambda f: f.extra["sessions"])
    n = top.extra["sessions"]
    by = {f.name: f for f in figs}
    ca = by[f"Porthole N={n}: CPU per session, agent"].median
    cs = by[f"Porthole N={n}: CPU per session, porthole-core"].median
    ra = by[f"Porthole N={n}: RSS per session, agent"].median
    rs = by[f"Porthole N={n}: RSS per session, porthole-core"].median
    out = [
        f"With {n} sessions typing at 10 keys/s each, the p99 round trip is {num(top.worst)} ms "
        f"(median {num(top.median)} ms); each session costs the agent {ca:.2f} % of a core and "
        f"{ra:.0f} KiB, porthole-core {cs:.2f} % and {rs:.0f} KiB (in all: agent {ca * n:.0f} %, "
        f"porthole-core {cs * n:.0f} % of a core; dockerd + containerd "
        f"{by[f'Porthole N={n}: CPU per session, dockerd + containerd'].median * n:.0f} %; the pion client "
        f"playing the {n} browsers {top.extra.get('cpu_share', {}).get('client', 0) * 100:.0f} %; the whole "
        f"machine was {by[f'Porthole N={n}: machine busy'].median:.0f} % busy)."
    ]
    floor = next((f for f in figs if f.role == "floor" and f.name.endswith(f"N={n}: round trip")), None)
    if floor is not None:
        fb = by[floor.name.replace("round trip", "machine busy")].median
        out.append(
            f"The same {n} shells as plain docker execs read natively (no WebRTC): p99 {num(floor.worst)} ms "
            f"(median {num(floor.median)} ms), the machine {fb:.0f} % busy: what Docker and the shells "
            f"alone cost at this N, without the WebRTC ends (porthole-core and the pion client)."
        )
    bridge = [f for f in figs if f.name.startswith("aiortc bridge N=") and f.name.endswith("round trip")]
    if bridge:
        b = max(bridge, key=lambda f: f.extra["sessions"])
        bn = b.extra["sessions"]
        bc = by[f"aiortc bridge N={bn}: CPU per session"].median
        same = by.get(f"Porthole N={bn}: round trip")
        cmp = f" (Porthole at N={bn}: p99 {num(same.worst)} ms)" if same else ""
        out.append(f"The aiortc bridge at N={bn}: p99 {num(b.worst)} ms{cmp}, {bc:.2f} % of a core per session.")
    return out
