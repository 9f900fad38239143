"""The references that are not the product: `docker exec` straight from this
process (the floor: the agent's own DockerExec class, no WebRTC, no gRPC), the
same exec read natively by the Go bench client (the floor without Python's
cost), and sessions through the aiortc bridge (porthole.bench.aiortc_bridge)."""

from __future__ import annotations

import asyncio
import os
import socket
import time

from porthole.agent.config import DEFAULT_SHELL
from porthole.agent.policy import DEFAULT_USER
from porthole.agent.pty_docker import DockerExec
from porthole.bench.context import Context

DOCKER_SOCKET = "/var/run/docker.sock"
# The same keystroke pair as the pion client (internal/benchpeer/echo.go).
KEYS = [(b"x", b"x"), (b"\x7f", b"\b")]
ECHO_TIMEOUT_S = 5.0
SETUP_TIMEOUT_S = 30.0
READ_CHUNK = 64 * 1024


def throughput_command(nbytes: int) -> tuple[str, str]:
    """The command typed into the shell and the marker that ends its output
    (typed split by quotes, so the echoed command line never contains it)."""
    return f"head -c {nbytes} /dev/urandom | base64; echo BENCH_''DONE\r", "BENCH_DONE"


class ExecStream:
    """The agent's DockerExec, its stream read and written from this process (the
    agent hands that stream to porthole-core instead; the output read past
    Docker's answer comes first)."""

    def __init__(self, ex: DockerExec) -> None:
        self.ex = ex
        self._pre = b""
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def start(self) -> None:
        await self.ex.start()
        self._pre = self.ex.preread
        sock = socket.socket(fileno=os.dup(self.ex.descriptor()))
        self._reader, self._writer = await asyncio.open_unix_connection(sock=sock, limit=READ_CHUNK * 2)

    async def read(self) -> bytes:
        if self._pre:
            data, self._pre = self._pre, b""
            return data
        assert self._reader is not None
        try:
            return await self._reader.read(READ_CHUNK)
        except (ConnectionError, OSError):
            return b""

    async def write(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def kill(self) -> int:
        if self._writer is not None:
            self._writer.close()
        return await self.ex.kill()


async def open_exec(ctx: Context, container: str) -> tuple[ExecStream, float]:
    """A docker exec PTY like the agent's; returns it and the time from
    exec create to the first prompt byte (seconds)."""
    ex = ExecStream(
        DockerExec(
            ctx.docker,
            DOCKER_SOCKET,
            container,
            list(DEFAULT_SHELL),
            env={"TERM": "xterm-256color"},
            user=DEFAULT_USER,
            cols=80,
            rows=24,
        )
    )
    t0 = time.perf_counter()
    await ex.start()
    await asyncio.wait_for(ex.read(), SETUP_TIMEOUT_S)
    return ex, time.perf_counter() - t0


async def _quiet(ex: ExecStream, quiet_s: float = 0.1, max_s: float = 2.0) -> None:
    end = time.monotonic() + max_s
    while time.monotonic() < end:
        try:
            await asyncio.wait_for(ex.read(), quiet_s)
        except TimeoutError:
            return


async def exec_echo(ex: ExecStream, count: int, warmup: int, interval_s: float) -> tuple[list[float], int]:
    """Keystroke round trips (ms) straight through docker exec; (samples, lost)."""
    await _quiet(ex)
    samples, lost = [], 0
    nxt = time.monotonic()
    for i in range(warmup + count):
        delay = nxt - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        nxt += interval_s
        key, echo = KEYS[i % 2]
        t0 = time.perf_counter()
        await ex.write(key)
        buf = b""
        try:
            while echo not in buf:
                buf += await asyncio.wait_for(ex.read(), ECHO_TIMEOUT_S)
        except TimeoutError:
            if i >= warmup:
                lost += 1
            await ex.write(b"\x15")
            await _quiet(ex)
            continue
        if i >= warmup:
            samples.append((time.perf_counter() - t0) * 1000)
    return samples, lost


async def exec_drain(ex: ExecStream, nbytes: int, timeout_s: float = 120.0) -> tuple[int, float]:
    """Runs the throughput command straight through docker exec; (bytes, seconds)."""
    await _quiet(ex, 0.05)
    command, marker = throughput_command(nbytes)
    mb = marker.encode()
    t0 = time.perf_counter()
    await ex.write(command.encode())
    n, tail = 0, b""
    async with asyncio.timeout(timeout_s):
        while True:
            data = await ex.read()
            if not data:
                raise EOFError("exec ended before the marker")
            n += len(data)
            tail = (tail + data)[-(len(mb) + len(data)) :]
            if mb in tail:
                return n, time.perf_counter() - t0
            tail = tail[-len(mb) :]


async def open_native_exec(ctx: Context, container: str) -> str:
    """The same docker exec as open_exec, created, started and read by the Go
    bench client (core-go/internal/benchpeer/dockerexec.go); returns its name."""
    peer = await ctx.peer()
    r = await peer.request(
        "exec_open",
        socket=DOCKER_SOCKET,
        container=container,
        cmd=list(DEFAULT_SHELL),
        user=DEFAULT_USER,
        env=["TERM=xterm-256color"],
        cols=80,
        rows=24,
        timeout_s=SETUP_TIMEOUT_S,
    )
    return r["exec"]


async def native_drain(ctx: Context, name: str, nbytes: int, timeout_s: float = 120.0) -> tuple[int, float]:
    """The throughput command through the natively read exec; (bytes, seconds)."""
    command, marker = throughput_command(nbytes)
    r = await (await ctx.peer()).request(
        "exec_drain", exec=name, input=command, marker=marker, timeout_s=timeout_s, timeout=timeout_s + 10
    )
    return r["bytes"], r["seconds"]


async def native_echo(ctx: Context, name: str, count: int, warmup: int, interval_ms: float) -> tuple[list[float], int]:
    """Keystroke round trips (ms) through the natively read exec; (samples, lost)."""
    timeout = (count + warmup) * (interval_ms / 1000 + 0.05) + 60
    r = await (await ctx.peer()).request(
        "exec_echo", exec=name, count=count, warmup=warmup, interval_ms=interval_ms, timeout=timeout
    )
    return [x / 1000 for x in r["rtt_us"]], r["lost"]


async def close_native_exec(ctx: Context, name: str) -> None:
    await (await ctx.peer()).request("exec_close", exec=name)


async def open_bridge(ctx: Context, container: str, *, flood: bool = False) -> tuple[str, dict[str, float]]:
    """A pion client session through the aiortc bridge; (peer name, setup split in seconds).
    flood: as Stack.open_terminal's."""
    peer, bridge = await ctx.peer(), await ctx.bridge()
    offer = await peer.request("new", protocol="", flood=flood)
    t0 = time.monotonic()
    answer = await bridge.answer(offer["sdp"], container)
    signaling = time.monotonic() - t0
    await peer.request("answer", peer=offer["peer"], sdp=answer)
    ready = await peer.request("ready", peer=offer["peer"], timeout_s=SETUP_TIMEOUT_S)
    return offer["peer"], {
        "signaling_s": signaling,
        "ice_dtls_s": ready["ice_dtls_us"] / 1e6,
        "exec_s": ready["exec_us"] / 1e6,
    }
