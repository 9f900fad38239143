"""Output throughput: N MB of base64 written by the container, until the client has all of it."""

from __future__ import annotations

import os
import statistics
from collections.abc import Awaitable, Callable

from porthole.bench import procstat, refs
from porthole.bench.context import Context
from porthole.bench.figures import Figure, Role, num
from porthole.bench.sections import notes, section

KEY = "throughput"
NATIVE_FLOOR = "docker exec, native reader (Go), no WebRTC"
BINARY = "Porthole, binary mode"
# The paths whose machine-wide CPU per MB is written out (diagnostic), and
# whether the bench client's share is theirs to report apart: on a WebRTC
# path it stands in for a browser on another machine; on the floor it is the
# reader, doing the device's reading.
MACHINE_COST = {BINARY: True, "Porthole, JSON mode": True, NATIVE_FLOOR: False}


@section(
    KEY,
    "Output throughput",
    """\
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
**docker exec** alone, the floor, read two ways: by the agent's DockerExec
in the bench process (Python, asyncio, no WebRTC) and by a **native reader**
(the Go bench client creates the same exec, hijacks its stream and reads it
in 64 KiB reads; `core-go/internal/benchpeer/dockerexec.go`), so that a slow
Python reader does not lower the floor. The paths take turns run by run, each on one
session kept open throughout. The bench client, the receiving end of every
WebRTC path, gives the UDP sockets of these sessions an 8 MiB receive buffer
(`core-go/internal/benchpeer/rcvbuf.go`): it stands in for a browser on
another machine but shares the device's cores here, and with the default
208 KiB a flood arriving while it waited for a core overflowed the socket
(thousands of drops a run) and stalled SCTP for a retransmission timeout. **Device CPU per MB** is the CPU time the
device-side processes used during a run (agent + porthole-core for Porthole,
the bridge process for the reference; dockerd's share is the same for both
and not counted) per MB delivered; for pion ↔ pion it is the client process,
which holds both ends (sender and receiver). **porthole-core + gRPC**
(diagnostic): a porthole-core of its own fed by a stand-in agent in the bench
process on the Terminal gRPC stream, the path before the descriptor handoff
(grpc.aio, 64 KiB frames, the base64 made beforehand), no Docker, no
PTY: what Porthole's own pipeline carries; its CPU per MB counts porthole-core
only. **Machine CPU per MB** (diagnostic): the CPU time of every process on
the machine during a run (from /proc/stat) per MB delivered, the bench
client's share written apart on the Porthole paths; with the machine's core
count it bounds what the path can carry here, whatever the software does.""",
)
async def run(ctx: Context) -> list[Figure]:
    p = ctx.params
    stack, peer = await ctx.stack(), await ctx.peer()
    container = await ctx.container("tput")
    command, marker = refs.throughput_command(p.throughput_bytes)
    mib = p.throughput_bytes / (1 << 20)
    how = f"{p.throughput_reps} runs of {mib:g} MiB of urandom as base64, paths taking turns"
    timeout = 600.0

    json_s = await stack.open_terminal(container, flood=True)
    bin_s = await stack.open_terminal(container, binary=True, flood=True)
    bridge_peer, _ = await refs.open_bridge(ctx, container, flood=True)
    ex, _ = await refs.open_exec(ctx, container)
    native = await refs.open_native_exec(ctx, container)
    coreonly = await ctx.coreonly()
    diag_peer = await coreonly.open(binary=True, flood=True)
    device = {
        "Porthole": {"agent": stack.agent_pid, "porthole-core": stack.sidecar_pid},
        "bridge": {"aiortc bridge": (await ctx.bridge()).pid},
        "pion": {"the bench client (both pion ends)": peer.pid},
        "coreonly": {"porthole-core": coreonly.sidecar.pid},
    }

    msg_sizes: dict[str, list[float]] = {}

    async def drain(name: str) -> tuple[float, int]:
        r = await peer.request(
            "drain", peer=name, input=command, marker=marker, timeout_s=timeout, timeout=timeout + 10
        )
        msg_sizes.setdefault(name, []).append(r["bytes"] / max(1, r["messages"]))
        return r["seconds"], r["bytes"]

    async def raw() -> tuple[float, int]:
        r = await peer.request("raw", bytes=p.raw_bytes, timeout_s=timeout, timeout=timeout + 10)
        return r["seconds"], p.raw_bytes

    async def floor() -> tuple[float, int]:
        n, took = await refs.exec_drain(ex, p.throughput_bytes)
        return took, n

    async def native_floor() -> tuple[float, int]:
        n, took = await refs.native_drain(ctx, native, p.throughput_bytes, timeout)
        return took, n

    # (figure name, role, whose processes' CPU is counted: a key of device, or None)
    paths: dict[tuple[str, Role, str | None], Callable[[], Awaitable[tuple[float, int]]]] = {
        ("Porthole, JSON mode", "porthole", "Porthole"): lambda: drain(json_s.peer),
        (BINARY, "porthole", "Porthole"): lambda: drain(bin_s.peer),
        ("aiortc bridge (seed 004), JSON", "reference", "bridge"): lambda: drain(bridge_peer),
        ("pion ↔ pion data channel", "ceiling", "pion"): raw,
        ("docker exec, no WebRTC", "floor", None): floor,
        (NATIVE_FLOOR, "floor", None): native_floor,
        ("porthole-core + gRPC, binary, stand-in agent, no Docker", "diagnostic", "coreonly"): lambda: drain(diag_peer),
    }
    rates: dict[tuple, list[float]] = {k: [] for k in paths}
    cpu_ms_per_mb: dict[tuple, list[float]] = {k: [] for k in paths}
    busy: dict[tuple, list[float]] = {k: [] for k in paths}
    machine_ms_per_mb: dict[tuple, list[float]] = {k: [] for k in paths if k[0] in MACHINE_COST}
    client_ms_per_mb: dict[tuple, list[float]] = {k: [] for k in machine_ms_per_mb}
    cores = os.cpu_count() or 1
    try:
        for _ in range(p.throughput_reps):
            for key, measure in paths.items():
                who = key[2]
                meter = procstat.CpuMeter(device[who]) if who else None
                if meter:
                    meter.start()
                machine = procstat.MachineMeter()
                client = procstat.CpuMeter({"client": peer.pid})
                machine.start()
                client.start()
                took, nbytes = await measure()
                share = machine.stop()
                client_s = client.stop()["client"] * client.wall
                busy[key].append(round(share * 100, 1))
                if key in machine_ms_per_mb:
                    machine_ms_per_mb[key].append(share * cores * took * 1000 / (nbytes / 1e6))
                    client_ms_per_mb[key].append(client_s * 1000 / (nbytes / 1e6))
                rates[key].append(nbytes / took / 1e6)
                if meter:
                    cpu_s = sum(meter.stop().values()) * meter.wall
                    cpu_ms_per_mb[key].append(cpu_s * 1000 / (nbytes / 1e6))
    finally:
        await stack.close_terminal(json_s)
        await stack.close_terminal(bin_s)
        await peer.request("close", peer=bridge_peer)
        await ex.kill()
        await refs.close_native_exec(ctx, native)
        await coreonly.close(diag_peer)
    mean_msg = {json_s.peer: "JSON", bin_s.peer: "binary", bridge_peer: "bridge", diag_peer: "stand-in"}
    sizes = {mean_msg[k]: round(sum(v) / len(v)) for k, v in msg_sizes.items()}
    figs = []
    for key in paths:
        name, role, _ = key
        n_how = f"{p.throughput_reps} runs of {p.raw_bytes >> 20} MiB, paths taking turns" if role == "ceiling" else how
        figs.append(
            Figure.of(
                KEY,
                name,
                role,
                "MB/s",
                rates[key],
                n_how,
                better="higher",
                mean_message_bytes=sizes,
                machine_busy_percent=busy[key],
            )
        )
    for key in paths:
        name, role, who = key
        if who is not None and cpu_ms_per_mb[key]:
            procs = " + ".join(device[who])
            figs.append(
                Figure.of(
                    KEY,
                    f"{name}: device CPU per MB",
                    role,
                    "ms/MB",
                    cpu_ms_per_mb[key],
                    f"CPU time of {procs} during each run / MB delivered",
                )
            )
    for key, values in machine_ms_per_mb.items():
        name, _, _ = key
        fig = Figure.of(
            KEY,
            f"{name}: machine CPU per MB",
            "diagnostic",
            "ms/MB",
            values,
            "CPU time of every process on the machine during each run (/proc/stat) / MB delivered",
            cores=cores,
        )
        if MACHINE_COST[name]:
            fig.extra["client_ms_per_mb"] = client_ms_per_mb[key]
        figs.append(fig)
    return figs


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.name: f for f in figs}
    j, b = by["Porthole, JSON mode"], by[BINARY]
    a, c = by["aiortc bridge (seed 004), JSON"], by["pion ↔ pion data channel"]
    d = by["docker exec, no WebRTC"]
    nf = by.get(NATIVE_FLOOR)
    native = f", {nf.median:.1f} MB/s read natively (Go)" if nf else ""
    out = [
        f"Porthole delivers {j.median:.1f} MB/s in JSON mode and {b.median:.1f} MB/s in binary mode, "
        f"{b.median / c.median:.0%} of the pion ↔ pion ceiling ({c.median:.1f} MB/s) and "
        f"{b.median / a.median:.1f}× the aiortc bridge ({a.median:.1f} MB/s); docker exec alone "
        f"gives {d.median:.1f} MB/s read from Python{native}.",
        f"Per MB delivered the device spends {by['Porthole, binary mode: device CPU per MB'].median:.0f} ms "
        f"of CPU in binary mode and {by['Porthole, JSON mode: device CPU per MB'].median:.0f} ms in JSON "
        f"mode (agent + porthole-core), the aiortc bridge "
        f"{by['aiortc bridge (seed 004), JSON: device CPU per MB'].median:.0f} ms; two pion ends in one "
        f"process need {by['pion ↔ pion data channel: device CPU per MB'].median:.0f} ms.",
    ]
    cost, floor_cost = by.get(f"{BINARY}: machine CPU per MB"), by.get(f"{NATIVE_FLOOR}: machine CPU per MB")
    if cost is not None and floor_cost is not None and nf is not None:
        cores = cost.extra["cores"]
        client = statistics.median(cost.extra["client_ms_per_mb"])
        here, apart = cores * 1000 / cost.median, cores * 1000 / (cost.median - client)
        out.append(
            f"The whole machine spends {num(cost.median)} ms of CPU per MB on the binary path "
            f"({num(client)} of them in the bench client) and {num(floor_cost.median)} ms on docker exec "
            f"alone: with its {cores} cores fully busy it could carry at most {num(here)} MB/s on the binary "
            f"path ({here / nf.median:.2f}× the native floor), {num(apart)} MB/s with the client on another "
            f"machine ({apart / nf.median:.2f}×)."
        )
    core = by.get("porthole-core + gRPC, binary, stand-in agent, no Docker")
    if core is not None:
        out.append(
            f"Without Docker, porthole-core fed by a stand-in agent carries {num(core.median)} MB/s "
            f"(p1 {num(core.worst)}): Porthole's own pipeline is not what limits a terminal's output here; "
            f"docker exec and the PTY ({num(by['docker exec, no WebRTC'].median)} MB/s alone) are."
        )
    return out
