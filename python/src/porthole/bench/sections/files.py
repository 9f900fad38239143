"""File transfer: a file of random bytes uploaded into a container and downloaded back on
the `files` channel, next to `docker cp` of the same file both ways."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Awaitable, Callable

from porthole.bench.context import Context
from porthole.bench.figures import Figure, Role, num
from porthole.bench.sections import notes, section

KEY = "files"
UP, DOWN = "Porthole upload (files channel)", "Porthole download (files channel)"
CP_UP, CP_DOWN = "docker cp into the container", "docker cp out of the container"


@section(
    KEY,
    "File transfer",
    """\
A file of N random bytes on the bench machine is uploaded into the target
container's `/tmp` on a terminal's `files` channel (docs/protocol.md §5d) by
the pion bench client (64 KiB chunks, the device's 1 MiB window, the page's
flow control), then downloaded back; each is timed from the client's request
to the device's `done` (upload: staged and hashed on the device, then
`put_archive` and a rename as the exec user; download: `get_archive` streamed,
hashed at both ends). The floor is `docker cp` of the same file into and out
of the same container (the Docker CLI, timed as a process, no WebRTC, no
hashing). MB/s are 10^6 bytes per second; the paths take turns run by run.""",
)
async def run(ctx: Context) -> list[Figure]:
    p = ctx.params
    stack = await ctx.stack()
    peer = await ctx.peer()
    container = await ctx.container("files")
    local = ctx.workdir / "bench-file.bin"
    back = ctx.workdir / "bench-file.back"
    data = os.urandom(p.files_bytes)
    local.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    mib = p.files_bytes / (1 << 20)
    how = f"{p.files_reps} runs of a {mib:g} MiB file of random bytes, paths taking turns"
    s = await stack.open_terminal(container, files=True)

    async def upload() -> float:
        r = await peer.request("files_upload", peer=s.peer, input=str(local), path="/tmp", timeout_s=600, timeout=610)
        assert r["sha256"] == digest, r
        return r["seconds"]

    async def download() -> float:
        r = await peer.request("files_download", peer=s.peer, path=f"/tmp/{local.name}", timeout_s=600, timeout=610)
        assert r["sha256"] == digest and r["bytes"] == p.files_bytes, r
        return r["seconds"]

    async def cp(*args: str) -> float:
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec("docker", "cp", *args)
        if await proc.wait() != 0:
            raise RuntimeError(f"docker cp {args} failed")
        return time.monotonic() - t0

    async def cp_up() -> float:
        return await cp(str(local), f"{container}:/tmp/cp.bin")

    async def cp_down() -> float:
        took = await cp(f"{container}:/tmp/cp.bin", str(back))
        assert hashlib.sha256(back.read_bytes()).hexdigest() == digest
        return took

    paths: dict[tuple[str, Role], Callable[[], Awaitable[float]]] = {
        (UP, "porthole"): upload,
        (DOWN, "porthole"): download,
        (CP_UP, "floor"): cp_up,
        (CP_DOWN, "floor"): cp_down,
    }
    rates: dict[tuple[str, Role], list[float]] = {k: [] for k in paths}
    try:
        for _ in range(p.files_reps):
            for key, measure in paths.items():
                rates[key].append(p.files_bytes / await measure() / 1e6)
    finally:
        await stack.close_terminal(s)
    return [Figure.of(KEY, name, role, "MB/s", rates[(name, role)], how, better="higher") for name, role in paths]


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.name: f for f in figs}
    return [
        f"A file goes into a container at {num(by[UP].median)} MB/s and comes out at {num(by[DOWN].median)} MB/s "
        f"on the files channel, checksummed at both ends; `docker cp` of the same file on the device itself "
        f"does {num(by[CP_UP].median)} MB/s in and {num(by[CP_DOWN].median)} MB/s out."
    ]
