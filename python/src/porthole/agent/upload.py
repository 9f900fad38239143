"""Uploads finished recordings to the server, resuming where it stopped.

Protocol (docs/protocol.md §7): `PUT <server_url>/api/recordings/<sid>` with
`Authorization: Device <device_id>:<secret>` (never in the URL). First
`Content-Range: bytes */<total>` with no body asks how much the server has
(`Upload-Offset`); then chunks `bytes <first>-<last>/<total>` from there.
A dropped link or a server restart costs a retry (capped, jittered backoff),
never the bytes already stored. Files waiting in the recording folder are
picked up again when the agent starts.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from porthole.agent import tls
from porthole.agent.recording import PARTIAL_SUFFIX

if TYPE_CHECKING:
    from porthole.agent.config import AgentConfig

log = logging.getLogger("porthole.agent.upload")

CHUNK_BYTES = 1024 * 1024
# Each request: a chunk of 1 MiB over a slow uplink still fits.
REQUEST_TIMEOUT_S = 60.0
BACKOFF_MIN_S, BACKOFF_MAX_S = 1.0, 60.0
# Answers after which retrying the same file is pointless: it is kept aside.
GIVE_UP = {400, 404, 413}


class Uploader:
    def __init__(self, cfg: AgentConfig, server_url: Callable[[], str] | None = None) -> None:
        self.cfg = cfg
        # The server to upload to, asked before each file: the node the uplink uses now.
        self._server_url = server_url or (lambda: cfg.server_url)
        self.ssl_context = tls.client_context(cfg.ca_file)  # as the link: ca_file or the system store
        self.dir = cfg.recording.dir
        self._queue: asyncio.Queue[Path] = asyncio.Queue()
        self._queued: set[Path] = set()
        self.uploaded = 0  # files, for tests and metrics

    def enqueue(self, path: Path) -> None:
        if path not in self._queued:
            self._queued.add(path)
            self._queue.put_nowait(path)

    def enqueue_waiting(self) -> None:
        """Recordings left by an earlier run: finished ones, and those cut short by a crash
        (every line is flushed as it is written, so what is there is a valid file)."""
        if self.dir.is_dir():
            for p in sorted(self.dir.glob("s_*" + PARTIAL_SUFFIX)):
                p.rename(p.with_name(p.name[: -len(PARTIAL_SUFFIX)] + ".cast"))
            for p in sorted(self.dir.glob("s_*.cast")):
                self.enqueue(p)

    async def run(self) -> None:
        self.enqueue_waiting()
        connector = aiohttp.TCPConnector(ssl=self.ssl_context)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
            while True:
                path = await self._queue.get()
                delay = BACKOFF_MIN_S
                while True:
                    try:
                        done = await self._upload(http, path)
                        break
                    except (aiohttp.ClientError, OSError, TimeoutError, _Retry) as e:
                        log.warning("upload of %s interrupted (%s); retrying in %.1f s", path.name, e, delay)
                        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                        delay = min(delay * 2, BACKOFF_MAX_S)
                self._queued.discard(path)
                if done:
                    self.uploaded += 1
                    log.info("recording %s uploaded", path.name)
                    if self.cfg.recording.keep_uploaded:
                        path.rename(path.with_suffix(".cast.uploaded"))
                    else:
                        path.unlink(missing_ok=True)

    async def _upload(self, http: aiohttp.ClientSession, path: Path) -> bool:
        sid = path.name[: -len(".cast")]
        url = f"{self._server_url().rstrip('/')}/api/recordings/{sid}"
        total = path.stat().st_size
        headers = {"Authorization": f"Device {self.cfg.device_id}:{self.cfg.read_secret()}"}
        offset = await self._put(http, url, headers, f"bytes */{total}", b"", path)
        if offset is None:
            return False
        with path.open("rb") as f:
            while offset < total:
                f.seek(offset)
                chunk = f.read(CHUNK_BYTES)
                got = await self._put(
                    http, url, headers, f"bytes {offset}-{offset + len(chunk) - 1}/{total}", chunk, path
                )
                if got is None:
                    return False
                offset = got
        return True

    async def _put(self, http, url: str, headers: dict, content_range: str, body: bytes, path: Path) -> int | None:
        """One PUT; returns the server's Upload-Offset, None to give up on this file, raises to retry."""
        async with http.put(url, data=body, headers={**headers, "Content-Range": content_range}) as r:
            await r.read()
            if r.status in (200, 202, 409) and r.headers.get("Upload-Offset", "").isdigit():
                return int(r.headers["Upload-Offset"])
            if r.status in GIVE_UP:
                aside = path.with_suffix(".cast.rejected")
                log.error("server refused recording %s (HTTP %d); kept as %s", path.name, r.status, aside.name)
                path.rename(aside)
                return None
            raise _Retry(f"HTTP {r.status}")


class _Retry(Exception):
    pass
