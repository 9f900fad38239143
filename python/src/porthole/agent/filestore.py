"""Where the `files` channel reads and writes: a container through the Docker
API (put_archive / get_archive; checks run as the exec user in the container,
so its symlinks and permissions are the ones that count), or the device itself
for a host shell target (the agent's own file system calls; the host shell runs
as the agent's user).

An upload is staged by the caller (filechan.py) and verified before it gets
here; put() writes it under a hidden temporary name in the target folder and
renames it into place, so no partial file is ever visible under its name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import secrets
import stat
import tarfile
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from dataclasses import dataclass
from typing import IO, Protocol

import docker
import docker.errors

from porthole import filedirs, wire
from porthole.agent import filepaths
from porthole.errors import PortholeError

CHUNK = wire.FILE_CHUNK
# A download is read from Docker in pieces of READ bytes, at most QUEUED of them ahead of the channel.
READ = 256 * 1024
QUEUED = 8
# Checks in the container (exit codes of the scripts below).
_NO_DIR, _NOT_WRITABLE, _NOT_REGULAR, _NO_FILE = 10, 11, 12, 13
# Who removes a temporary file the exec user may not (it may have landed outside its folders).
ROOT = "0"
# Output of a check is a few paths.
_MAX_OUT = 64 * 1024

# uid, gid, home, then for each folder ($@, "~" = home) the folder and the folder resolved
# (an empty line when it is not there).
_INFO = (
    'id -u; id -g; printf "%s\\n" "$HOME"; for d in "$@"; do '
    'case "$d" in "~"|"~/"*) if [ -n "$HOME" ]; then d="${HOME%/}${d#?}"; d="${d:-/}"; else d=; fi;; esac; '
    'case "$d" in /*) printf "%s\\n" "$d"; (cd -P -- "$d" 2>/dev/null && pwd -P) || echo;; *) echo; echo;; esac; '
    "done"
)
# $1 folder, $2 name: the physical folder, writable, where name is absent or a regular file.
_DIR = (
    'cd -P -- "$1" 2>/dev/null || exit 10; test -w . || exit 11; '
    'if [ -L "$2" ] || { [ -e "$2" ] && [ ! -f "$2" ]; }; then exit 12; fi; pwd -P'
)
# $1 folder, $2 name: the physical folder of a readable regular file that is no symlink.
_FILE = (
    'cd -P -- "$1" 2>/dev/null || exit 13; [ -L "$2" ] && exit 12; [ -f "$2" ] || exit 13; '
    '[ -r "$2" ] || exit 11; pwd -P; wc -c < "$2"'
)


@dataclass(frozen=True)
class Info:
    home: str  # as the target says
    dirs: tuple[str, ...]  # the allowed folders ("~" expanded), before symlinks
    roots: tuple[str, ...]  # the allowed folders that exist, resolved
    uid: int
    gid: int


class Store(Protocol):
    async def info(self, dirs: tuple[str, ...] = filedirs.DEFAULT) -> Info: ...
    async def folder(self, path: str, name: str) -> str: ...
    async def source(self, path: str) -> tuple[str, int]: ...
    async def put(
        self, folder: str, name: str, staged: IO[bytes], size: int, info: Info, cancelled: Callable[[], bool]
    ) -> str: ...
    def get(self, path: str) -> AsyncGenerator[bytes, None]: ...


def _refuse(code: int, what: str) -> PortholeError:
    if code == _NOT_WRITABLE:
        return PortholeError(wire.PATH_NOT_ALLOWED, f"the exec user may not {what} there")
    if code == _NOT_REGULAR:
        return PortholeError(wire.PATH_NOT_ALLOWED, "that name is a symlink or not a regular file")
    return PortholeError(wire.FILE_NOT_FOUND, "no such folder" if code == _NO_DIR else "no such file")


def _split(path: str) -> tuple[str, str]:
    folder, _, name = path.rstrip("/").rpartition("/")
    return folder or "/", name


class DockerStore:
    """A container, as the exec user (user "" = the image's default)."""

    def __init__(self, api: docker.APIClient, container: str, user: str) -> None:
        self._api = api
        self._container = container
        self._user = user

    async def _sh(self, script: str, *args: str, user: str | None = None) -> tuple[int, str]:
        def run() -> tuple[int, str]:
            ex = self._api.exec_create(
                self._container,
                ["sh", "-c", script, "sh", *args],
                user=self._user if user is None else user,
                stderr=False,
            )
            out = self._api.exec_start(ex["Id"])
            code = self._api.exec_inspect(ex["Id"]).get("ExitCode")
            return int(code if code is not None else -1), out[:_MAX_OUT].decode(errors="replace")

        try:
            return await asyncio.to_thread(run)
        except docker.errors.APIError as e:
            raise PortholeError(wire.FILE_FAILED, f"docker: {e.explanation}") from e

    async def info(self, dirs: tuple[str, ...] = filedirs.DEFAULT) -> Info:
        code, out = await self._sh(_INFO, *dirs)
        lines = out.split("\n")
        if code != 0 or len(lines) < 3 + 2 * len(dirs):
            raise PortholeError(wire.FILE_FAILED, "cannot tell the exec user's home in the container")
        pairs = [(lines[i], lines[i + 1]) for i in range(3, 3 + 2 * len(dirs), 2)]
        return Info(
            home=lines[2],
            dirs=tuple(d for d, _ in pairs if d.startswith("/")),
            roots=tuple(r for _, r in pairs if r.startswith("/")),
            uid=int(lines[0]),
            gid=int(lines[1]),
        )

    async def folder(self, path: str, name: str) -> str:
        code, out = await self._sh(_DIR, path, name)
        if code != 0:
            raise _refuse(code, "write")
        return out.strip("\n")

    async def source(self, path: str) -> tuple[str, int]:
        folder, name = _split(path)
        filepaths.check_name(name)
        code, out = await self._sh(_FILE, folder, name)
        lines = out.split("\n")
        if code != 0 or len(lines) < 2:
            raise _refuse(code or _NO_FILE, "read")
        return lines[0].rstrip("/") + "/" + name, int(lines[1].strip() or 0)

    async def put(
        self, folder: str, name: str, staged: IO[bytes], size: int, info: Info, cancelled: Callable[[], bool]
    ) -> str:
        tmp = f".{name[:200]}.porthole-{secrets.token_hex(4)}"
        ti = tarfile.TarInfo(tmp)
        ti.size, ti.mode, ti.uid, ti.gid = size, 0o644, info.uid, info.gid

        def body() -> Iterator[bytes]:
            yield ti.tobuf(format=tarfile.PAX_FORMAT)
            staged.seek(0)
            while chunk := staged.read(CHUNK):
                yield chunk
            yield b"\0" * ((-size) % tarfile.BLOCKSIZE) + b"\0" * (2 * tarfile.BLOCKSIZE)

        final = folder.rstrip("/") + "/" + name
        try:
            ok = await asyncio.to_thread(self._api.put_archive, self._container, folder, body())
        except docker.errors.APIError as e:
            ok = False
            err = e.explanation
        else:
            err = "refused"
        if not ok:
            await self._sh('rm -f -- "$1"', f"{folder}/{tmp}", user=ROOT)
            raise PortholeError(wire.FILE_FAILED, f"docker put_archive: {err}")
        if cancelled():
            await self._sh('rm -f -- "$1"', f"{folder}/{tmp}", user=ROOT)
            raise asyncio.CancelledError
        # The folder must still be the one checked (not swapped for a symlink since): else the
        # temporary file is removed wherever it landed, and nothing is renamed.
        code, out = await self._sh(
            'cd -P -- "$1" && [ "$(pwd -P)" = "$1" ] && [ -f "$2" ] && [ ! -L "$3" ] && mv -f -- "$2" "$3" 2>&1',
            folder,
            tmp,
            name,
        )
        if code != 0:
            await self._sh('rm -f -- "$1"', f"{folder}/{tmp}", user=ROOT)
            raise PortholeError(wire.FILE_FAILED, f"cannot rename into place: {out.strip()[:200]}")
        return final

    async def get(self, path: str) -> AsyncGenerator[bytes, None]:
        """The file's bytes, from get_archive's tar stream read in a thread (its first regular
        member), in pieces of up to READ bytes, at most QUEUED pieces ahead of the reader."""
        q: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=QUEUED)
        stop = threading.Event()

        def put(item: bytes | BaseException | None) -> bool:
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    q.put(item, timeout=0.2)
                    return True
            return False

        def read() -> None:
            try:
                stream, _ = self._api.get_archive(self._container, path, chunk_size=READ)
                for piece in _tar_member(stream):
                    if not put(piece):
                        return
                put(None)
            except docker.errors.APIError as e:
                put(PortholeError(wire.FILE_FAILED, f"docker get_archive: {e.explanation}"))
            except BaseException as e:  # noqa: BLE001 - handed to the reader
                put(e)

        t = threading.Thread(target=read, name="files-get", daemon=True)
        t.start()
        try:
            while True:
                item = await asyncio.to_thread(q.get)
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                for i in range(0, len(item), CHUNK):
                    yield item[i : i + CHUNK]
        finally:
            stop.set()


def _tar_member(stream: Iterator[bytes]) -> Iterator[bytes]:
    """The data of the first regular file in a tar stream (ustar, pax and GNU long-name headers)."""
    buf = bytearray()
    it = iter(stream)

    def need(n: int) -> bool:
        while len(buf) < n:
            try:
                buf.extend(next(it))
            except StopIteration:
                return False
        return True

    while True:
        if not need(tarfile.BLOCKSIZE):
            raise PortholeError(wire.FILE_NOT_FOUND, "no file in the archive")
        try:
            ti = tarfile.TarInfo.frombuf(bytes(buf[: tarfile.BLOCKSIZE]), "utf-8", "surrogateescape")
        except tarfile.HeaderError as e:
            raise PortholeError(wire.FILE_FAILED, f"docker sent a bad archive: {e}") from e
        del buf[: tarfile.BLOCKSIZE]
        padded = -(-ti.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
        if ti.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK):
            if not need(padded):
                raise PortholeError(wire.FILE_FAILED, "the archive ended early")
            del buf[:padded]
            continue
        if not ti.isreg():
            raise PortholeError(wire.FILE_NOT_FOUND, "not a regular file")
        left = ti.size
        while left > 0:
            if not buf and not need(1):
                raise PortholeError(wire.FILE_FAILED, "the archive ended early")
            take = min(left, len(buf))
            out = bytes(buf[:take])
            del buf[:take]
            left -= take
            yield out
        return


class HostStore:
    """The device's own file system, as the agent's user (the host shell's user)."""

    async def info(self, dirs: tuple[str, ...] = filedirs.DEFAULT) -> Info:
        home = os.path.expanduser("~")
        expanded = tuple(e for e in (filepaths.expand(d, home) for d in dirs) if e)
        roots = tuple(os.path.realpath(e) for e in expanded if os.path.isdir(e))
        return Info(home=home, dirs=expanded, roots=roots, uid=os.getuid(), gid=os.getgid())

    async def folder(self, path: str, name: str) -> str:
        real = os.path.realpath(path)
        if not os.path.isdir(real):
            raise _refuse(_NO_DIR, "write")
        if not os.access(real, os.W_OK):
            raise _refuse(_NOT_WRITABLE, "write")
        target = os.path.join(real, name)
        if os.path.islink(target) or (os.path.lexists(target) and not os.path.isfile(target)):
            raise _refuse(_NOT_REGULAR, "write")
        return real

    async def source(self, path: str) -> tuple[str, int]:
        folder, name = _split(path)
        filepaths.check_name(name)
        real = os.path.join(os.path.realpath(folder), name)
        try:
            st = os.lstat(real)
        except OSError:
            raise _refuse(_NO_FILE, "read") from None
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            raise _refuse(_NOT_REGULAR if stat.S_ISLNK(st.st_mode) else _NO_FILE, "read")
        return real, st.st_size

    async def put(
        self, folder: str, name: str, staged: IO[bytes], size: int, info: Info, cancelled: Callable[[], bool]
    ) -> str:
        def write() -> str:
            tmp = os.path.join(folder, f".{name[:200]}.porthole-{secrets.token_hex(4)}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
            try:
                with os.fdopen(fd, "wb") as out:
                    staged.seek(0)
                    while chunk := staged.read(CHUNK):
                        out.write(chunk)
                if cancelled():
                    raise InterruptedError
                final = os.path.join(folder, name)
                os.rename(tmp, final)
                return final
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise

        try:
            return await asyncio.to_thread(write)
        except InterruptedError:
            raise asyncio.CancelledError from None
        except OSError as e:
            raise PortholeError(wire.FILE_FAILED, f"cannot write: {e.strerror}") from e

    async def get(self, path: str) -> AsyncGenerator[bytes, None]:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as e:
            raise PortholeError(wire.FILE_NOT_FOUND, f"cannot read: {e.strerror}") from e
        with os.fdopen(fd, "rb") as f:
            while chunk := await asyncio.to_thread(f.read, CHUNK):
                yield chunk
