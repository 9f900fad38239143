"""The `files` channel (file transfer, docs/protocol.md §5d) from a remote
peer's side, on aiortc: what a third-party client does to upload and download."""

from __future__ import annotations

import asyncio
import hashlib
import json

CHUNK = 64 * 1024


class FilesChannel:
    def __init__(self, pc) -> None:
        self.channel = pc.createDataChannel("files")
        self.messages: list[dict] = []
        self.data = bytearray()  # binary messages of the download under way
        self._changed = asyncio.Event()
        self.channel.on("message", self._on_message)

    def _on_message(self, msg: str | bytes) -> None:
        if isinstance(msg, bytes):
            self.data += msg
        else:
            self.messages.append(json.loads(msg))
        self._changed.set()

    def send(self, obj: dict) -> None:
        self.channel.send(json.dumps(obj))

    async def wait(self, tid: str | None, *types: str, timeout: float = 30.0) -> dict:
        """The first message of one of types for this id (or an error for it)."""

        def found() -> dict | None:
            for m in self.messages:
                if m.get("id") == tid and (m.get("type") in types or m.get("type") == "error"):
                    return m
            return None

        try:
            async with asyncio.timeout(timeout):
                while (m := found()) is None:
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"no {types} for {tid!r}; got {self.messages!r}") from None
        self.messages.remove(m)
        return m

    def acked(self, tid: str) -> int:
        return max((m["bytes"] for m in self.messages if m.get("type") == "ack" and m.get("id") == tid), default=0)

    async def _acked_at_least(self, tid: str, n: int) -> None:
        async with asyncio.timeout(30):
            while self.acked(tid) < n:
                if any(m.get("type") == "error" and m.get("id") == tid for m in self.messages):
                    return
                self._changed.clear()
                await self._changed.wait()

    async def upload(
        self,
        tid: str,
        name: str,
        payload: bytes,
        *,
        folder: str | None = None,
        sha256: str | None = None,
        size: int | None = None,
        window: int = 1 << 20,
        stop_after: int | None = None,
    ) -> dict:
        """Announces and sends payload within the window; returns `done`/`error` (or `accepted` once
        stop_after bytes went out, leaving the upload open)."""
        msg = {
            "type": "upload",
            "id": tid,
            "name": name,
            "size": len(payload) if size is None else size,
            "sha256": sha256 or hashlib.sha256(payload).hexdigest(),
        }
        if folder is not None:
            msg["dir"] = folder
        self.send(msg)
        first = await self.wait(tid, "accepted")
        if first["type"] != "accepted":
            return first
        sent = 0
        while sent < len(payload):
            if stop_after is not None and sent >= stop_after:
                return first
            await self._acked_at_least(tid, sent + CHUNK - window)
            self.channel.send(payload[sent : sent + CHUNK])
            sent += CHUNK
        return await self.wait(tid, "done")

    async def download(self, tid: str, path: str) -> tuple[dict, bytes]:
        """Returns the final message (`done` or `error`) and the bytes received."""
        self.data.clear()
        self.send({"type": "download", "id": tid, "path": path})
        head = await self.wait(tid, "file")
        if head["type"] != "file":
            return head, b""
        end = await self.wait(tid, "done", timeout=60)
        return end, bytes(self.data)
