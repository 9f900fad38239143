"""What sections share: started on first use, stopped once at the end.

- ``await ctx.peer()``: the pion client (porthole-bench).
- ``await ctx.stack()``: the real server + agent + porthole-core.
- ``await ctx.bridge()``: the aiortc reference bridge process.
- ``await ctx.coreonly()``: porthole-core with a stand-in agent, no Docker (diagnostic).
- ``await ctx.container(name)``: a running container of the target image, named
  ``porthole-bench-<name>`` (the agent serves every ``porthole-bench-*``).
- ``ctx.docker``: a docker-py APIClient; ``ctx.params``: the mode's sizes.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import docker

from porthole.bench.peer import PeerProcess
from porthole.bench.stack import Stack
from porthole.errors import PortholeError

if TYPE_CHECKING:  # coreonly imports this module; it is loaded on first use
    from porthole.bench.coreonly import CoreOnly

TARGET_IMAGE = os.environ.get("PORTHOLE_TARGET_IMAGE", "porthole/target:dev")
BENCH_LABEL = "porthole.bench"
# The bridge imports aiortc and docker: a second or two on a busy machine.
BRIDGE_START_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Params:
    """Sizes of one run; QUICK for development, FULL for the committed figures."""

    keystrokes: int  # per path in the keystroke section
    keystroke_warmup: int
    keystroke_interval_ms: float
    throughput_bytes: int  # bytes of urandom before base64
    throughput_reps: int
    raw_bytes: int  # pion↔pion ceiling
    setup_reps: int
    concurrency_levels: tuple[int, ...]
    concurrency_keystrokes: int  # per session, one every 100 ms
    bridge_concurrency_levels: tuple[int, ...]  # the aiortc reference at these N
    idle_seconds: float
    rss_after_s: float  # porthole-core's RSS is read this long after the last session closed (issue 10: 60 s)
    screen_seconds: float = 10.0  # each window of the screen section (static, busy, reference)
    screen_latency_samples: int = 40  # glass-to-glass changes drawn and timed
    screen_soak_seconds: float = 0.0  # one Chromium session kept up this long (seed 000: > 5 min); 0 = skip
    files_bytes: int = 16 << 20  # the file uploaded and downloaded in the files section
    files_reps: int = 3
    observer_keystrokes: int = 200  # per level (0, 1, 5 observers) and round in the observers section
    observer_rounds: int = 4  # the levels taken in turn: up, down, up, down


FULL = Params(
    keystrokes=1000,
    keystroke_warmup=20,
    keystroke_interval_ms=10.0,
    throughput_bytes=8 << 20,
    throughput_reps=5,
    raw_bytes=32 << 20,
    setup_reps=30,
    concurrency_levels=(1, 10, 50, 100, 200),
    concurrency_keystrokes=60,
    bridge_concurrency_levels=(10, 50),
    idle_seconds=10.0,
    rss_after_s=60.0,
    screen_seconds=10.0,
    screen_latency_samples=40,
    screen_soak_seconds=330.0,
)
QUICK = Params(
    keystrokes=100,
    keystroke_warmup=10,
    keystroke_interval_ms=10.0,
    throughput_bytes=1 << 20,
    throughput_reps=2,
    raw_bytes=8 << 20,
    setup_reps=3,
    concurrency_levels=(5,),
    concurrency_keystrokes=20,
    bridge_concurrency_levels=(5,),
    idle_seconds=2.0,
    rss_after_s=10.0,
    screen_seconds=4.0,
    screen_latency_samples=10,
    files_bytes=4 << 20,
    files_reps=2,
    observer_keystrokes=50,
    observer_rounds=2,
)

# The smallest configuration: one pass over every section to prove the tool
# works (tests/bench); its figures mean little.
SMOKE = Params(
    keystrokes=10,
    keystroke_warmup=2,
    keystroke_interval_ms=10.0,
    throughput_bytes=64 << 10,
    throughput_reps=1,
    raw_bytes=1 << 20,
    setup_reps=1,
    concurrency_levels=(2,),
    concurrency_keystrokes=5,
    bridge_concurrency_levels=(2,),
    idle_seconds=1.0,
    rss_after_s=1.0,
    screen_seconds=1.0,
    screen_latency_samples=2,
    files_bytes=256 << 10,
    files_reps=1,
    observer_keystrokes=10,
    observer_rounds=1,
)


class BridgeProcess:
    """The aiortc reference bridge (porthole.bench.aiortc_bridge) as a subprocess."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self._n = 0

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "porthole.bench.aiortc_bridge",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1 << 24,
        )
        assert self.proc.stdout is not None  # stdout=PIPE
        line = await asyncio.wait_for(self.proc.stdout.readline(), BRIDGE_START_TIMEOUT_S)
        if not line or not json.loads(line).get("ready"):
            raise PortholeError("internal", f"aiortc bridge did not start: {line!r}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def answer(self, offer: str, container: str) -> str:
        """Only one request at a time: the bench opens bridge sessions one by one."""
        assert self.proc and self.proc.stdin and self.proc.stdout
        self._n += 1
        self.proc.stdin.write((json.dumps({"id": self._n, "offer": offer, "container": container}) + "\n").encode())
        await self.proc.stdin.drain()
        reply = json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30))
        if "answer" not in reply:
            raise PortholeError("internal", f"aiortc bridge: {reply.get('error')}")
        return reply["answer"]

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class Context:
    def __init__(self, params: Params, *, quick: bool, core: str, iface: str) -> None:
        self.params = params
        self.quick = quick
        self.core = core
        self.iface = iface
        self.docker = docker.APIClient(version="auto", timeout=60)  # as the agent makes it
        self.workdir = Path(tempfile.mkdtemp(prefix="porthole-bench-"))
        self._peer: PeerProcess | None = None
        self._stack: Stack | None = None
        self._bridge: BridgeProcess | None = None
        self._coreonly: CoreOnly | None = None
        self._containers: dict[str, str] = {}
        self.run_id = secrets.token_hex(3)
        self.started = time.monotonic()

    async def peer(self) -> PeerProcess:
        if self._peer is None:
            self._peer = PeerProcess(self.iface)
            await self._peer.start()
        return self._peer

    async def stack(self) -> Stack:
        if self._stack is None:
            self._stack = Stack(self.workdir, self.core, self.iface, await self.peer())
            await self._stack.start()
        return self._stack

    async def coreonly(self) -> CoreOnly:
        """porthole-core with a stand-in agent and no Docker (porthole.bench.coreonly)."""
        if self._coreonly is None:
            from porthole.bench.coreonly import CoreOnly

            self._coreonly = CoreOnly(self, await self.peer())
            await self._coreonly.start()
        return self._coreonly

    async def bridge(self) -> BridgeProcess:
        if self._bridge is None:
            self._bridge = BridgeProcess()
            await self._bridge.start()
        return self._bridge

    async def container(self, name: str) -> str:
        """A running target container (made on first use), by its full name, once
        the server lists it among the device's targets (when the stack runs)."""
        if name not in self._containers:
            full = f"porthole-bench-{self.run_id}-{name}"
            created = self.docker.create_container(
                TARGET_IMAGE,
                command=["sleep", "86400"],
                name=full,
                labels={BENCH_LABEL: "1"},
                host_config=self.docker.create_host_config(network_mode="none"),
            )
            self.docker.start(created["Id"])
            self._containers[name] = full
            if self._stack is not None:
                await self._stack.wait_target(full)
        return self._containers[name]

    def container_processes(self, name: str) -> int:
        top = self.docker.top(self._containers[name])
        return len(top.get("Processes") or [])

    async def close(self) -> None:
        for stop in (self._coreonly, self._bridge, self._stack, self._peer):
            if stop is not None:
                try:
                    await stop.stop()
                except Exception as e:  # noqa: BLE001 - keep tearing down
                    print(f"bench: stopping {type(stop).__name__} failed: {e}", file=sys.stderr)
        for full in self._containers.values():
            try:
                self.docker.remove_container(full, force=True)
            except docker.errors.APIError as e:
                print(f"bench: removing {full} failed: {e}", file=sys.stderr)
