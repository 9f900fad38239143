"""File transfer: the agent's end of a terminal session's `files` channel
(docs/protocol.md §5d), relayed by porthole-core on the Files stream.

One transfer at a time per channel. An upload is announced (name, folder,
size, sha256), refused at once when the grant, the size cap or the path say
no, then arrives in binary chunks that the page sends within a window the
agent acknowledges (`ack`); it is staged in an unnamed temporary file on the
device, hashed as it comes, and only when every byte is there and the sha256
matches is it written to the target (filestore.py: under a hidden name, then
renamed). A download is streamed from the target with the sha256 at the end.
`cancel` works in every phase and leaves no file. Every transfer, refused or
done or cancelled, is audited (`session.file`: name, path, size, sha256).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import posixpath
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

import docker
import grpc

from porthole import errors, wire
from porthole.agent import filepaths
from porthole.agent.events import EventBus
from porthole.agent.filestore import DockerStore, HostStore, Info, Store
from porthole.agent.session import Session
from porthole.agent.sidecar import Sidecar
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

log = logging.getLogger("porthole.agent.files")

LABEL = "files"
# An `ack` at least this often (bytes received); the page's window is wire.FILE_WINDOW.
ACK_EVERY = 256 * 1024
MAX_CONTROL = 4096
MAX_ID = 64
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
SIDECAR_WAIT_S = 5.0


@dataclass
class Upload:
    id: str
    name: str
    folder: str
    size: int
    sha256: str
    staged: IO[bytes]
    hasher: Any = field(default_factory=hashlib.sha256)
    received: int = 0
    acked: int = 0
    finishing: asyncio.Task | None = None
    cancelled: bool = False
    committed: bool = False


@dataclass
class Download:
    id: str
    path: str
    task: asyncio.Task | None = None
    cancelled: bool = False  # checked between chunks: a task cancelled inside a stream write would end the stream


class FileChannels:
    """Starts one FileChannel per `files` channel that opens."""

    def __init__(self, sidecar: Sidecar, docker_api: Callable[[], docker.APIClient | None], events: EventBus) -> None:
        self.sidecar = sidecar
        self.docker_api = docker_api
        self.events = events
        self.tasks: set[asyncio.Task] = set()

    def store_for(self, session: Session) -> Store:
        if session.target.kind == "host":
            return HostStore()
        api = self.docker_api()
        if api is None:
            raise PortholeError(wire.FILE_FAILED, "docker is not reachable")
        return DockerStore(api, session.target.container_id or "", session.spec.user if session.spec else "")

    def open(self, session: Session) -> None:
        t = asyncio.create_task(FileChannel(self, session).run(), name=f"files-{session.id}")
        self.tasks.add(t)
        t.add_done_callback(self.tasks.discard)


class FileChannel:
    def __init__(self, owner: FileChannels, session: Session) -> None:
        self.owner = owner
        self.session = session
        g = session.grant
        self.may_upload = g.files in ("upload", "both") and g.mode == "interactive"
        self.may_download = g.files in ("download", "both")
        self.max_bytes = g.files_max_bytes
        self.dirs = g.file_dirs  # the grant's folders ("~" = the exec user's home), filedirs.py
        self.store: Store | None = None
        self.info: Info | None = None
        self.call: Any = None
        self.send_lock = asyncio.Lock()
        self.upload: Upload | None = None
        self.download: Download | None = None

    # ------------------------------------------------------------ stream

    async def run(self) -> None:
        sid = self.session.id
        try:
            stub = await self.owner.sidecar.wait_ready(SIDECAR_WAIT_S)
            self.call = stub.Files()
            await self.call.write(pb.FilesFromAgent(attach=pb.Attach(session_id=sid)))
            first = await self.call.read()
            if first is grpc.aio.EOF or first.WhichOneof("frame") != "attached":
                return
            await self.ready()
            while True:
                f = await self.call.read()
                if f is grpc.aio.EOF or f.WhichOneof("frame") != "message":
                    break
                await self.on_message(f.message)
        except asyncio.CancelledError:
            raise
        except grpc.aio.AioRpcError as e:
            log.info("files stream ended: %s", e.code().name, extra={"session_id": sid})
        except Exception:
            log.exception("files channel failed", extra={"session_id": sid})
        finally:
            await self.abort_all()

    async def send(self, msg: dict[str, Any] | bytes) -> None:
        if isinstance(msg, bytes):
            frame = pb.FilesMessage(data=msg, text=False)
        else:
            frame = pb.FilesMessage(data=json.dumps(msg, separators=(",", ":")).encode(), text=True)
        async with self.send_lock:
            await self.call.write(pb.FilesFromAgent(message=frame))

    async def error(self, tid: str | None, e: PortholeError) -> None:
        out: dict[str, Any] = {"type": "error", "code": e.code, "message": e.message[: wire.MAX_ERROR_MESSAGE_LEN]}
        if tid:
            out["id"] = tid
        await self.send(out)

    def audit(self, direction: str, ok: bool, **fields: Any) -> None:
        self.owner.events.publish(
            "session.file", self.session.id, ok=ok, direction=direction, **self.session.audit_fields(), **fields
        )

    async def target(self) -> tuple[Store, Info]:
        """The target's store and the exec user's home, uid and the grant's folders resolved: asked
        of the target (one exec in a container) at the first transfer, not for every session that opens."""
        if self.store is None or self.info is None:
            store = self.owner.store_for(self.session)
            self.info = await store.info(self.dirs)
            self.store = store
        return self.store, self.info

    async def ready(self) -> None:
        await self.send(
            {
                "type": "ready",
                "upload": self.may_upload,
                "download": self.may_download,
                "max_bytes": self.max_bytes if (self.may_upload or self.may_download) else 0,
                "dirs": list(self.dirs) if (self.may_upload or self.may_download) else [],
                "cwd": self.cwd(),
                "chunk": wire.FILE_CHUNK,
                "window": wire.FILE_WINDOW,
            }
        )

    def cwd(self) -> str:
        """The shell's working directory (its /proc cwd: the path inside its container), else home
        (once known)."""
        sh = self.session.shell
        pid = sh.pty.pid if sh is not None and sh.pty is not None else None
        if pid:
            with contextlib.suppress(OSError):
                return os.readlink(f"/proc/{pid}/cwd")
        return self.info.home if self.info else ""

    # ------------------------------------------------------------ messages

    async def on_message(self, m: pb.FilesMessage) -> None:
        if not m.text:
            await self.on_chunk(m.data)
            return
        try:
            if len(m.data) > MAX_CONTROL:
                raise PortholeError(errors.MESSAGE_TOO_LARGE, f"a control message is at most {MAX_CONTROL} bytes")
            try:
                msg = json.loads(m.data)
            except ValueError:
                raise PortholeError(errors.BAD_MESSAGE, "not JSON") from None
            if not isinstance(msg, dict):
                raise PortholeError(errors.BAD_MESSAGE, "not a JSON object")
            tid = msg.get("id")
            if not isinstance(tid, str) or not 0 < len(tid) <= MAX_ID:
                raise PortholeError(errors.BAD_MESSAGE, "every message needs an id (1..64 characters)")
        except PortholeError as e:
            await self.error(None, e)
            return
        kind = msg.get("type")
        try:
            if kind == "upload":
                await self.start_upload(tid, msg)
            elif kind == "download":
                await self.start_download(tid, msg)
            elif kind == "cancel":
                await self.cancel(tid)
            else:
                raise PortholeError(errors.BAD_MESSAGE, "type must be upload, download or cancel")
        except PortholeError as e:
            await self.error(tid, e)

    def busy(self) -> bool:
        return self.upload is not None or self.download is not None

    # ------------------------------------------------------------ upload

    async def start_upload(self, tid: str, msg: dict[str, Any]) -> None:
        name, size, digest = msg.get("name"), msg.get("size"), msg.get("sha256")
        fields = {"id": tid, "name": str(name)[:255], "size": size if isinstance(size, int) else None}
        try:
            if self.busy():
                raise PortholeError(wire.TRANSFER_BUSY, "one transfer at a time")
            if not self.may_upload:
                raise PortholeError(wire.FILES_NOT_ALLOWED, "this session may not upload files")
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise PortholeError(errors.BAD_MESSAGE, "size must be a whole number of bytes")
            if not isinstance(digest, str) or not SHA256_RE.match(digest):
                raise PortholeError(errors.BAD_MESSAGE, "sha256 must be 64 lower-case hex digits")
            if size > self.max_bytes:
                raise PortholeError(wire.FILE_TOO_LARGE, f"files are at most {self.max_bytes} bytes")
            name = filepaths.check_name(name)
            folder = await self.resolve_folder(msg.get("dir"), name)
        except PortholeError as e:
            if e.code != wire.TRANSFER_BUSY:
                self.audit("upload", False, code=e.code, **fields)
            raise
        # Unnamed: gone with its descriptor (end_upload closes it).
        staged = tempfile.TemporaryFile(prefix="porthole-upload-")  # noqa: SIM115
        self.upload = Upload(tid, name, folder, size, digest, staged)
        await self.send({"type": "accepted", "id": tid, "path": posixpath.join(folder, name)})
        if size == 0:
            self.finish_upload()

    async def resolve_folder(self, d: object, name: str) -> str:
        store, info = await self.target()
        if d is None or d == "":
            d = filepaths.default_folder(self.cwd(), info.home, info.dirs, info.roots)
        path = filepaths.absolute(filepaths.check_path(d, what="folder"), info.home)
        # Before and after symlinks: "../../etc" and a link out of an allowed folder are both refused.
        filepaths.require_inside(path, (*info.roots, *info.dirs))
        folder = await store.folder(path, name)
        filepaths.require_inside(folder, info.roots)
        return folder

    async def on_chunk(self, data: bytes) -> None:
        up = self.upload
        if up is None or up.finishing is not None:
            await self.error(None, PortholeError(errors.BAD_MESSAGE, "a chunk with no upload under way"))
            return
        if up.received + len(data) > up.size:
            await self.fail_upload(PortholeError(errors.BAD_MESSAGE, "more bytes than the announced size"))
            return
        up.staged.write(data)  # 64 KiB into the page cache: not worth a thread hop
        up.hasher.update(data)
        up.received += len(data)
        if up.received - up.acked >= ACK_EVERY or up.received == up.size:
            up.acked = up.received
            await self.send({"type": "ack", "id": up.id, "bytes": up.received})
        if up.received == up.size:
            self.finish_upload()

    def finish_upload(self) -> None:
        up = self.upload
        assert up is not None
        up.finishing = asyncio.create_task(self.commit(up), name=f"files-commit-{self.session.id}")

    async def commit(self, up: Upload) -> None:
        store, info = await self.target()
        got = up.hasher.hexdigest()
        fields = {"id": up.id, "name": up.name, "size": up.size, "sha256": got}
        try:
            if got != up.sha256:
                raise PortholeError(wire.CHECKSUM_MISMATCH, f"the bytes received hash to {got}")
            path = await store.put(up.folder, up.name, up.staged, up.size, info, lambda: up.cancelled)
        except PortholeError as e:
            self.audit("upload", False, code=e.code, path=posixpath.join(up.folder, up.name), **fields)
            self.end_upload()
            await self.error(up.id, e)
            return
        except asyncio.CancelledError:
            self.end_upload()
            return
        up.committed = True
        self.end_upload()
        self.audit("upload", True, path=path, **fields)
        await self.send({"type": "done", "id": up.id, "path": path, "size": up.size, "sha256": got})

    def end_upload(self) -> None:
        if self.upload is not None:
            self.upload.staged.close()
            self.upload = None

    async def fail_upload(self, e: PortholeError) -> None:
        up = self.upload
        if up is None:
            return
        self.end_upload()
        self.audit("upload", False, code=e.code, id=up.id, name=up.name, size=up.size)
        await self.error(up.id, e)

    # ------------------------------------------------------------ download

    async def start_download(self, tid: str, msg: dict[str, Any]) -> None:
        path = msg.get("path")
        fields = {"id": tid, "path": str(path)[: filepaths.MAX_PATH]}
        try:
            if self.busy():
                raise PortholeError(wire.TRANSFER_BUSY, "one transfer at a time")
            if not self.may_download:
                raise PortholeError(wire.FILES_NOT_ALLOWED, "this session may not download files")
            store, info = await self.target()
            p = filepaths.absolute(filepaths.check_path(path), info.home)
            filepaths.require_inside(p, (*info.roots, *info.dirs))
            real, size = await store.source(p)
            filepaths.require_inside(real, info.roots)
            if size > self.max_bytes:
                raise PortholeError(wire.FILE_TOO_LARGE, f"files are at most {self.max_bytes} bytes")
        except PortholeError as e:
            if e.code != wire.TRANSFER_BUSY:
                self.audit("download", False, code=e.code, **fields)
            raise
        dl = Download(tid, real)
        self.download = dl
        await self.send({"type": "file", "id": tid, "name": posixpath.basename(real), "path": real, "size": size})
        dl.task = asyncio.create_task(self.stream(dl, size), name=f"files-get-{self.session.id}")

    async def stream(self, dl: Download, size: int) -> None:
        store, _ = await self.target()
        h, n = hashlib.sha256(), 0
        name = posixpath.basename(dl.path)
        chunks = store.get(dl.path)
        try:
            async for chunk in chunks:
                if dl.cancelled:
                    return
                n += len(chunk)
                if n > size or n > self.max_bytes:
                    raise PortholeError(wire.FILE_FAILED, "the file grew while it was read")
                h.update(chunk)
                await self.send(chunk)
        except PortholeError as e:
            self.download = None
            self.audit("download", False, code=e.code, id=dl.id, name=name, path=dl.path, size=n)
            await self.error(dl.id, e)
            return
        finally:
            await chunks.aclose()  # stops the reading thread
        if dl.cancelled:
            return
        self.download = None
        got = h.hexdigest()
        self.audit("download", True, id=dl.id, name=name, path=dl.path, size=n, sha256=got)
        await self.send({"type": "done", "id": dl.id, "path": dl.path, "size": n, "sha256": got})

    # ------------------------------------------------------------ cancel

    async def cancel(self, tid: str) -> None:
        up, dl = self.upload, self.download
        if up is not None and up.id == tid:
            up.cancelled = True
            if up.finishing is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await up.finishing  # the store removes its temporary file
            if up.committed:
                return  # it was in place before the cancel: `done` went out
            self.end_upload()
            self.audit("upload", False, code="cancelled", id=tid, name=up.name, size=up.received)
        elif dl is not None and dl.id == tid:
            dl.cancelled = True
            if dl.task is not None:
                with contextlib.suppress(Exception):
                    await dl.task
            if self.download is not dl:
                return  # it ended before the cancel: `done` (or an error) went out
            self.download = None
            self.audit("download", False, code="cancelled", id=tid, name=posixpath.basename(dl.path), path=dl.path)
        else:
            return  # nothing under way by that id: already done
        await self.send({"type": "cancelled", "id": tid})

    async def abort_all(self) -> None:
        if self.upload is not None:
            self.upload.cancelled = True
            if self.upload.finishing is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self.upload.finishing
            self.end_upload()
        if self.download is not None and self.download.task is not None:
            self.download.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.download.task
            self.download = None
