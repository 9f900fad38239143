"""The pion client: porthole-bench (core-go/cmd/porthole-bench), a Go process
driven with one JSON request per line; every duration is measured there."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from pathlib import Path
from typing import Any

from porthole.errors import PortholeError

REPO = Path(__file__).resolve().parents[4]
# One request line may carry an SDP plus a few hundred candidates.
LINE_LIMIT = 16 * 1024 * 1024


def binary_path() -> str:
    path = os.environ.get("PORTHOLE_BENCH_PEER", str(REPO / "bin" / "porthole-bench"))
    if not os.access(path, os.X_OK):
        raise PortholeError("internal", f"porthole-bench not built at {path}: run `make bench` (or make bench-tools)")
    return path


class BenchPeerError(Exception):
    pass


class PeerProcess:
    """porthole-bench as an asyncio subprocess; ``request(op, **args)`` → reply dict."""

    def __init__(self, iface: str) -> None:
        self.iface = iface
        self.proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            binary_path(),
            "--iface",
            self.iface,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=LINE_LIMIT,
        )
        self._reader = asyncio.create_task(self._read(), name="bench-peer-reader")

    async def _read(self) -> None:
        assert self.proc and self.proc.stdout
        while line := await self.proc.stdout.readline():
            reply = json.loads(line)
            fut = self._waiting.pop(reply.get("id"), None)
            if fut is not None and not fut.done():
                fut.set_result(reply)
        for fut in self._waiting.values():
            if not fut.done():
                fut.set_exception(BenchPeerError("porthole-bench exited"))

    @property
    def pid(self) -> int:
        assert self.proc is not None, "PeerProcess.start() was not called"
        return self.proc.pid

    async def request(self, op: str, timeout: float = 120.0, **args: Any) -> dict[str, Any]:
        assert self.proc and self.proc.stdin
        rid = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        self.proc.stdin.write((json.dumps({"id": rid, "op": op, **args}) + "\n").encode())
        await self.proc.stdin.drain()
        reply = await asyncio.wait_for(fut, timeout)
        if not reply.get("ok"):
            raise BenchPeerError(f"{op}: {reply.get('error')}")
        return reply

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        try:
            await self.request("quit", timeout=10)
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            await asyncio.wait_for(self.proc.wait(), 15)
        except (TimeoutError, BenchPeerError, ConnectionError):
            self.proc.kill()
            await self.proc.wait()
        if self._reader:
            await asyncio.gather(self._reader, return_exceptions=True)
