"""Launches porthole-core, waits until it is healthy, restarts it with backoff.

The sidecar lives exactly as long as we do: it exits when its stdin (a pipe we
hold) closes, so even a SIGKILL of the agent cannot leave it behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from porthole import errors
from porthole.agent import coresock, handoff
from porthole.agent.config import SidecarConfig
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2_grpc

log = logging.getLogger("porthole.agent.sidecar")

# How long a fresh sidecar may take to answer its health check: a Go binary
# starts in milliseconds, so this only trips on a broken install.
READY_TIMEOUT_S = 15.0
READY_POLL_S = 0.05
# Restart backoff: first retry quickly, then double up to a cap, with jitter so
# a fleet of devices does not restart in lockstep.
BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 30.0
BACKOFF_JITTER = 0.3
# A sidecar that stayed up this long is considered healthy again: reset backoff.
STABLE_AFTER_S = 60.0
# On shutdown: closing stdin asks the sidecar to close its sessions and exit.
STOP_GRACE_S = 5.0
SERVICE_NAME = "porthole.rpc.v1.Sidecar"


class Sidecar:
    """Supervises one porthole-core process and the gRPC channel to it."""

    def __init__(self, cfg: SidecarConfig, on_restart: Callable[[], Awaitable[None]] | None = None) -> None:
        self._cfg = cfg
        self._on_restart = on_restart
        self._proc: asyncio.subprocess.Process | None = None
        self._channel: grpc.aio.Channel | None = None
        self.stub: sidecar_pb2_grpc.SidecarStub | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._supervisor: asyncio.Task | None = None
        self.restarts = 0

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def socket_path(self) -> Path:
        """porthole-core's gRPC socket (its descriptor handoff socket is next to it)."""
        return self._cfg.socket_path

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def alive(self) -> bool:
        """False once the process has exited, even before asyncio has reaped it (a zombie)."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return False
        try:
            state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")

    async def start(self) -> None:
        """Starts the process and returns once it is healthy (or raises)."""
        await self._launch()
        self._supervisor = asyncio.create_task(self._supervise(), name="sidecar-supervisor")

    async def wait_ready(self, timeout: float) -> sidecar_pb2_grpc.SidecarStub:
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            raise PortholeError(errors.SIDECAR_UNAVAILABLE, "WebRTC engine is not running") from None
        assert self.stub is not None
        return self.stub

    async def _launch(self) -> None:
        path = self._cfg.socket_path
        coresock.prepare(path, private=self._cfg.socket_is_default)
        argv = self._cfg.argv()
        if not os.access(argv[0], os.X_OK):
            raise PortholeError(errors.SIDECAR_UNAVAILABLE, f"porthole-core not found or not executable: {argv[0]}")
        env = dict(os.environ)
        log.info("starting sidecar", extra={"argv": " ".join(argv)})
        self._proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE, env=env, start_new_session=True
        )
        self._channel = grpc.aio.insecure_channel(f"unix://{path}")
        self.stub = sidecar_pb2_grpc.SidecarStub(self._channel)
        await self._wait_healthy()
        try:
            coresock.check_listener(path, self._proc.pid)
        except PortholeError:
            await self._kill()
            raise
        self._ready.set()
        log.info("sidecar ready", extra={"pid": self._proc.pid})

    async def _wait_healthy(self) -> None:
        assert self._channel is not None and self._proc is not None
        health = health_pb2_grpc.HealthStub(self._channel)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT_S
        last = "no answer"
        while loop.time() < deadline:
            if self._proc.returncode is not None:
                raise PortholeError(
                    errors.SIDECAR_UNAVAILABLE, f"porthole-core exited with {self._proc.returncode} at start"
                )
            try:
                resp = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME), timeout=1.0)
                if resp.status == health_pb2.HealthCheckResponse.SERVING:
                    return
                last = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
            except grpc.aio.AioRpcError as e:
                last = e.code().name
            await asyncio.sleep(READY_POLL_S)
        await self._kill()
        raise PortholeError(errors.SIDECAR_UNAVAILABLE, f"porthole-core not healthy after {READY_TIMEOUT_S}s ({last})")

    async def _supervise(self) -> None:
        backoff = BACKOFF_INITIAL_S
        loop = asyncio.get_running_loop()
        while not self._stopping:
            assert self._proc is not None
            started = loop.time()
            code = await self._proc.wait()
            if self._stopping:
                return
            self._ready.clear()
            log.error("sidecar exited unexpectedly", extra={"code": code})
            if loop.time() - started > STABLE_AFTER_S:
                backoff = BACKOFF_INITIAL_S
            if self._on_restart:
                with contextlib.suppress(Exception):
                    await self._on_restart()
            while not self._stopping:
                delay = backoff * (1 + random.uniform(-BACKOFF_JITTER, BACKOFF_JITTER))
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                await asyncio.sleep(delay)
                if self._stopping:
                    return
                try:
                    await self._close_channel()
                    await self._launch()
                    self.restarts += 1
                    break
                except PortholeError as e:
                    log.error("sidecar restart failed: %s", e.message)

    async def _close_channel(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self.stub = None

    async def _kill(self) -> None:
        if self._proc and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.kill()
            await self._proc.wait()

    async def stop(self) -> None:
        """Closes stdin (the sidecar closes its sessions and exits), then waits; kills after a deadline."""
        self._stopping = True
        self._ready.clear()
        if self._supervisor:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        await self._close_channel()
        proc = self._proc
        if proc and proc.returncode is None:
            if proc.stdin:
                proc.stdin.close()
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
            except TimeoutError:
                log.warning("sidecar did not exit after stdin closed; killing")
                await self._kill()
        for p in (self._cfg.socket_path, handoff.socket_path(self._cfg.socket_path)):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
