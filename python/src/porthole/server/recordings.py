"""Session recordings on the server: resumable uploads from devices, listing and
download for authorized users (docs/protocol.md §7, docs/security.md).

Files under `[recordings] dir`:
- `<sid>.meta.json`: written when the session is opened (who, which device
  and target): what decides who may upload and who may see the recording;
- `<sid>.cast.part`: an upload in progress; `<sid>.cast`: a finished one.

Upload (device): `PUT /api/recordings/<sid>` with `Authorization: Device
<device_id>:<secret>` and `Content-Range: bytes <first>-<last>/<total>` (or
`bytes */<total>` with no body, to ask where to resume). Answers carry
`Upload-Offset: <bytes stored>`: 200 done, 202 more wanted, 409 wrong offset
(resume from Upload-Offset). Only the device the session was opened on may
upload, once.

Listing and download (users): `GET /api/recordings` and
`GET /api/recordings/<sid>` with `Authorization: Bearer <login token>`. The
list takes optional filters (`user`, `device`, `target`: exact; `since`,
`until`: unix seconds on `opened_at`); a bad one is `400 bad_request`. A
user sees a recording of their own org when a grant of theirs names that
device and target (the same rule as opening it), or when it is their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from porthole import audit, errors
from porthole.errors import ConfigError, PortholeError
from porthole.events import Event
from porthole.server import clientaddr

log = logging.getLogger("porthole.server.recordings")

# A terminal session of a working day is a few MiB of output; more than this is refused.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# One PUT carries at most this much; the agent sends chunks of 1 MiB.
MAX_CHUNK_BYTES = 4 * 1024 * 1024
SID_RE = re.compile(r"^s_[A-Za-z0-9_-]{1,62}$")
RANGE_RE = re.compile(r"^bytes (?:(\d+)-(\d+)|\*)/(\d+)$")
# GET /api/recordings filters: exact matches on these fields, and a window on opened_at.
LIST_EXACT = ("user", "device", "target")
LIST_TIME = ("since", "until")
MAX_FILTER_LEN = 256


# Retention: stored recordings are deleted after keep_days; what never became one (the
# metadata of a session with no upload, an upload left half done) after pending_days.
DEFAULT_KEEP_DAYS = 90
DEFAULT_PENDING_DAYS = 7
PRUNE_EVERY_S = 3600.0


@dataclass(frozen=True)
class RecordingsConfig:
    dir: Path
    max_bytes: int = DEFAULT_MAX_BYTES
    keep_days: float = DEFAULT_KEEP_DAYS
    pending_days: float = DEFAULT_PENDING_DAYS


def parse_config(raw: object, base: Path) -> RecordingsConfig:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("recordings: expected a table")
    unknown = sorted(set(raw) - {"dir", "max_bytes", "keep_days", "pending_days"})
    if unknown:
        raise ConfigError(f"recordings.{unknown[0]}: unknown key")
    d = raw.get("dir", "recordings")
    if not isinstance(d, str) or not d:
        raise ConfigError("recordings.dir: expected a path")
    mb = raw.get("max_bytes", DEFAULT_MAX_BYTES)
    if isinstance(mb, bool) or not isinstance(mb, int) or not 1024 <= mb <= 2**34:
        raise ConfigError("recordings.max_bytes: an integer 1024..2^34")
    days = {}
    for k, default in (("keep_days", DEFAULT_KEEP_DAYS), ("pending_days", DEFAULT_PENDING_DAYS)):
        v = raw.get(k, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.001 <= v <= 36500:
            raise ConfigError(f"recordings.{k}: a number of days 0.001..36500")
        days[k] = float(v)
    p = Path(d).expanduser()
    return RecordingsConfig(dir=p if p.is_absolute() else base / p, max_bytes=mb, **days)


def _private_dir(d: Path) -> None:
    """The recordings folder, 0700: recordings can hold typed passwords."""
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    if d.stat().st_uid == os.geteuid():
        d.chmod(0o700)


def _open_private(path: Path, flags: int) -> int:
    """os.open with mode 0600 whatever the umask (and an existing file made 0600)."""
    fd = os.open(path, flags | os.O_NOFOLLOW, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def parse_list_filters(query: Any) -> dict[str, Any]:
    """The list's query filters, or PortholeError(bad_request) naming the bad one."""
    unknown = sorted(set(query) - set(LIST_EXACT) - set(LIST_TIME))
    if unknown:
        raise PortholeError(errors.BAD_REQUEST, f"unknown filter {unknown[0][:64]!r}")
    out: dict[str, Any] = {}
    for k in LIST_EXACT:
        if k in query:
            v = query[k]
            if not v or len(v) > MAX_FILTER_LEN:
                raise PortholeError(errors.BAD_REQUEST, f"{k}: 1..{MAX_FILTER_LEN} characters")
            out[k] = v
    for k in LIST_TIME:
        if k in query:
            try:
                t = float(query[k])
            except ValueError:
                t = float("nan")
            if not 0 <= t < 2**40:  # also refuses nan and inf
                raise PortholeError(errors.BAD_REQUEST, f"{k}: unix seconds, a number >= 0")
            out[k] = t
    return out


def matches(meta: dict[str, Any], filters: dict[str, Any]) -> bool:
    if any(meta.get(k) != filters[k] for k in LIST_EXACT if k in filters):
        return False
    opened = meta.get("opened_at")
    if ("since" in filters or "until" in filters) and not isinstance(opened, (int, float)):
        return False
    if "since" in filters and opened < filters["since"]:
        return False
    return not ("until" in filters and opened > filters["until"])


def _error(status: int, code: str, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status, headers=headers)


async def _read_body(request: web.Request, expected: int) -> bytes:
    """The request body, or what arrived of it before the link dropped (at most expected + 1 bytes)."""
    parts, n = [], 0
    try:
        while n <= expected:
            data = await request.content.read(64 * 1024)
            if not data:
                break
            parts.append(data)
            n += len(data)
    except Exception:  # noqa: BLE001 - a dropped connection, however aiohttp reports it
        pass
    return b"".join(parts)


class Store:
    def __init__(self, config: Any, tokens: Any, policy: Any, sink: audit.AuditSink) -> None:
        self.config = config
        self.cfg: RecordingsConfig = config.recordings or RecordingsConfig(dir=Path("recordings"))
        self.tokens = tokens
        self.policy = policy
        self.sink = sink
        self.devices: Any = None  # deviceauth.DeviceAuth, set by the server (it imports this module's config)
        self._lock = asyncio.Lock()  # uploads are rare and short: one at a time

    def add_routes(self, app: web.Application) -> None:
        app.router.add_put("/api/recordings/{sid}", self.upload)
        app.router.add_get("/api/recordings", self.list)
        app.router.add_get("/api/recordings/{sid}", self.download)

    # ------------------------------------------------------------ bookkeeping

    def _path(self, sid: str, suffix: str) -> Path:
        return self.cfg.dir / f"{sid}{suffix}"

    def on_event(self, ev: Event) -> None:
        """Bus subscriber: a session.opened names who may later upload and read its recording."""
        if ev.name == "session.opened" and ev.session_id is not None:
            f = ev.fields
            self.session_opened(
                {
                    "session_id": ev.session_id,
                    "mode": f.get("mode"),
                    "opened_at": f.get("opened_at"),
                    "user": f.get("user"),
                    "org": f.get("org"),
                    "device": f.get("device"),
                    "target": f.get("target"),
                    "kind": f.get("kind"),
                }
            )

    def session_opened(self, meta: dict[str, Any]) -> None:
        """Remembers who opened a session, for its upload and its readers."""
        try:
            _private_dir(self.cfg.dir)
            fd = _open_private(self._path(meta["session_id"], ".meta.json"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(meta))
        except OSError as e:
            log.error("cannot write recording metadata: %s", e.strerror)

    def _meta(self, sid: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._path(sid, ".meta.json").read_text())
        except (OSError, ValueError):
            return None

    # ------------------------------------------------------------ retention

    def prune(self, now: float | None = None) -> list[str]:
        """Deletes recordings older than keep_days, and after pending_days the metadata and
        partial uploads of sessions that never got a finished recording; returns the names."""
        d = self.cfg.dir
        if not d.is_dir():
            return []
        now = time.time() if now is None else now
        keep, pending = self.cfg.keep_days * 86400, self.cfg.pending_days * 86400
        gone = []
        for p in d.iterdir():
            if not p.name.startswith("s_"):
                continue
            try:
                age = now - p.stat().st_mtime
            except OSError:
                continue
            sid = p.name.split(".", 1)[0]
            if p.name.endswith(".cast"):
                doomed = age > keep
            elif p.name.endswith(".cast.part"):
                doomed = age > pending
            elif p.name.endswith(".meta.json"):
                # The metadata goes with its recording; alone, once no upload is expected.
                doomed = not self._path(sid, ".cast").exists() and age > pending
            else:
                continue
            if doomed:
                with contextlib.suppress(FileNotFoundError):
                    p.unlink()
                gone.append(p.name)
        if gone:
            log.info("recordings: deleted %d files by retention (keep_days, pending_days)", len(gone))
        return gone

    async def prune_forever(self) -> None:
        while True:
            async with self._lock:
                try:
                    self.prune()
                except OSError as e:
                    log.error("recordings: retention failed: %s", e)
            await asyncio.sleep(PRUNE_EVERY_S)

    # ------------------------------------------------------------ upload (device)

    async def _device(self, request: web.Request) -> str | None:
        h = request.headers.get("Authorization", "")
        scheme, _, cred = h.partition(" ")
        device_id, _, secret = cred.partition(":")
        if scheme != "Device" or not device_id or not secret:
            return None
        assert self.devices is not None, "recordings.Store.devices is set by the server"
        remote = clientaddr.of_request(request, self.config.server.trusted_proxies)
        await self.devices.check(device_id[:64], secret[:1024], remote, via="recording_upload")
        return device_id

    async def upload(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        try:
            device_id = await self._device(request)
        except PortholeError as e:
            return _error(429 if e.code == errors.RATE_LIMITED else 401, e.code, e.message)
        if device_id is None:
            return _error(401, errors.UNAUTHENTICATED, "device credential missing or wrong")
        meta = self._meta(sid) if SID_RE.match(sid) else None
        if meta is None or meta.get("device") != device_id:
            return _error(404, errors.SESSION_NOT_FOUND, "no session of this device with that id")
        m = RANGE_RE.match(request.headers.get("Content-Range", ""))
        if m is None:
            return _error(400, errors.BAD_REQUEST, "Content-Range: bytes FIRST-LAST/TOTAL or bytes */TOTAL")
        total = int(m.group(3))
        if total > self.cfg.max_bytes:
            return _error(413, errors.BAD_REQUEST, f"recordings are at most {self.cfg.max_bytes} bytes")
        async with self._lock:
            return await self._store(request, sid, meta, m, total)

    async def _store(self, request: web.Request, sid: str, meta: dict, m: re.Match, total: int) -> web.Response:
        final, part = self._path(sid, ".cast"), self._path(sid, ".cast.part")
        if final.exists():
            size = final.stat().st_size
            return web.json_response({"ok": True, "complete": True}, status=200, headers={"Upload-Offset": str(size)})
        have = part.stat().st_size if part.exists() else 0
        if m.group(1) is not None:
            first, last = int(m.group(1)), int(m.group(2))
            if first != have or last < first or last >= total or last - first + 1 > MAX_CHUNK_BYTES:
                return _error(409, "bad_offset", f"resume at byte {have}", **{"Upload-Offset": str(have)})
            body = await _read_body(request, last - first + 1)
            if len(body) != last - first + 1:
                # A body cut short (a dropped link): nothing stored, resume from Upload-Offset.
                return _error(
                    409, "bad_offset", "body length does not match Content-Range", **{"Upload-Offset": str(have)}
                )
            with os.fdopen(_open_private(part, os.O_WRONLY | os.O_CREAT | os.O_APPEND), "ab") as f:
                f.write(body)
                f.flush()
                os.fsync(f.fileno())
            have += len(body)
        if have < total:
            return web.json_response({"ok": True, "complete": False}, status=202, headers={"Upload-Offset": str(have)})
        if have > total:
            part.unlink()
            return _error(409, "bad_offset", "more bytes than announced; start again", **{"Upload-Offset": "0"})
        part.rename(final)
        self.sink.emit(
            "recording.stored",
            session_id=sid,
            device=meta.get("device"),
            user=meta.get("user"),
            org=meta.get("org"),
            target=meta.get("target"),
            bytes=total,
        )
        return web.json_response({"ok": True, "complete": True}, status=200, headers={"Upload-Offset": str(total)})

    # ------------------------------------------------------------ list and download (users)

    async def _user(self, request: web.Request):
        h = request.headers.get("Authorization", "")
        scheme, _, token = h.partition(" ")
        if scheme != "Bearer":
            raise PortholeError(errors.UNAUTHENTICATED, "Authorization: Bearer <login token> required")
        ident = await self.tokens.check(token)
        user = self.policy.user(ident.user)
        if user is None:
            raise PortholeError(errors.UNAUTHENTICATED, "unknown user")
        return user

    def _may_read(self, user: Any, meta: dict[str, Any]) -> bool:
        if meta.get("org") != user.org:
            return False
        if meta.get("user") == user.name:
            return True
        device = self.config.devices.get(meta.get("device"))
        return device is not None and self.policy.target_visible(user, device, meta.get("target", ""))

    async def list(self, request: web.Request) -> web.Response:
        try:
            user = await self._user(request)
        except PortholeError as e:
            return _error(401, e.code, e.message)
        try:
            filters = parse_list_filters(request.query)
        except PortholeError as e:
            return _error(400, e.code, e.message)
        out = []
        if self.cfg.dir.is_dir():
            for cast in sorted(self.cfg.dir.glob("s_*.cast")):
                sid = cast.name[: -len(".cast")]
                meta = self._meta(sid)
                if meta is None or not matches(meta, filters) or not self._may_read(user, meta):
                    continue
                out.append(
                    {
                        **{
                            k: meta.get(k)
                            for k in ("session_id", "user", "device", "target", "kind", "mode", "opened_at")
                        },
                        "bytes": cast.stat().st_size,
                    }
                )
        out.sort(key=lambda r: r.get("opened_at") or 0, reverse=True)
        return web.json_response({"ok": True, "recordings": out})

    async def download(self, request: web.Request) -> web.StreamResponse:
        sid = request.match_info["sid"]
        try:
            user = await self._user(request)
        except PortholeError as e:
            return _error(401, e.code, e.message)
        meta = self._meta(sid) if SID_RE.match(sid) else None
        cast = self._path(sid, ".cast")
        # Not yours and not there look the same: ids cannot be probed.
        if meta is None or not cast.is_file() or not self._may_read(user, meta):
            if meta is not None:
                self.sink.emit(
                    "recording.denied", ok=False, session_id=sid, user=user.name, org=user.org, code=errors.DENIED
                )
            return _error(404, errors.SESSION_NOT_FOUND, "no such recording")
        self.sink.emit(
            "recording.downloaded",
            session_id=sid,
            user=user.name,
            org=user.org,
            device=meta.get("device"),
            target=meta.get("target"),
        )
        return web.FileResponse(
            cast,
            headers={
                "Content-Type": "application/x-asciicast",
                "Content-Disposition": f'attachment; filename="{sid}.cast"',
            },
        )
