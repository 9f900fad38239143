"""Audit events: one structured JSON line per security-relevant event.

Used by the agent (session events from its EventBus) and by the server
(logins, session opens and their refusals, session ends, recordings). Each
record has a stable `event` name and `event_code`, `ok` (success or failure),
the time (`ts`, Unix seconds, and `time`, RFC 3339 UTC), `source` (agent or
server) and whatever is known of user, org, device, target, session id,
reason, duration and bytes. Never put a secret in a field: grants, tokens,
passwords and TURN credentials stay out.

Where records go (`[audit]` in either config, docs/configuration.md):
- a file (JSON lines, appended; the default), and/or
- the `porthole.audit` logger (one line on the process log).

In sync mode (`mode = "sync"`) every file write is flushed and fsynced before
the event counts as written, and a write that fails makes the caller refuse
the session it was about (as Teleport's synchronous audit does): no new
session without its audit record. In async mode a failing sink is logged and
sessions go on.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from porthole.errors import ConfigError

log = logging.getLogger("porthole.audit")
_internal = logging.getLogger("porthole.audit.sink")

# Stable codes, one per event name: tools match on these, never on messages.
EVENT_CODES = {
    "session.requested": "PA1000",
    "session.started": "PA1001",
    "session.resized": "PA1002",
    "session.ended": "PA1003",
    "session.denied": "PA1004",
    "session.input_denied": "PA1005",  # agent: input a view-only screen session sent (rate-limited records)
    "session.detached": "PA1006",  # agent: a terminal's connection was lost; its shell waits for a resume
    "session.resumed": "PA1007",  # agent: a new session took back a detached shell
    "session.clipboard": "PA1008",  # agent: screen clipboard text moved or refused (direction, bytes)
    "session.joined": "PA1009",  # agent: a viewer joined a shared terminal (joiner, owner session, via)
    "session.left": "PA1010",  # agent: a viewer left a shared terminal (reason)
    "session.control": "PA1011",  # agent: control of a shared terminal handed to a viewer or taken back
    "session.join_denied": "PA1012",  # agent: a join or a handoff refused (code)
    "session.file": "PA1020",  # agent: a file uploaded or downloaded on the `files` channel, or refused
    "session.opened": "PA2000",  # server: session:open granted (grant signed)
    "session.open_denied": "PA2001",  # server: session:open refused
    "session.closed": "PA2002",  # server: the session left the server's registry
    "session.rerouted": "PA2003",  # server: a session routed to a new socket after a signaling loss
    "session.ice_restarted": "PA2004",  # server: a client's ICE restart relayed to the device
    "session.resume_token": "PA2005",  # server: a resume token issued
    "session.resume_denied": "PA2006",  # server: a resume token refused (not the user's, access lost)
    "share.invited": "PA2007",  # server: a share invitation issued (to a user, or a link)
    "share.denied": "PA2008",  # server: an invitation, a join, a handoff or a revoke refused (code)
    "share.control": "PA2009",  # server: the owner asked to hand control over, take it back, or revoke invitations
    "login.succeeded": "PA3000",
    "login.failed": "PA3001",
    "login.rate_limited": "PA3002",
    "connect.denied": "PA3003",  # server: a /client connection without a valid login token
    "device.denied": "PA3004",  # server: a wrong or rate-limited device secret (connect or recording upload)
    "recording.stored": "PA4000",
    "recording.downloaded": "PA4001",
    "recording.denied": "PA4002",
    "recording.capped": "PA4003",  # agent: a recording stopped at [recording] max_bytes (the session went on)
}
MODES = ("async", "sync")


@dataclass(frozen=True)
class AuditConfig:
    file: Path | None = None  # None: no file sink
    log: bool = True  # also a line on the porthole.audit logger
    mode: str = "async"

    @property
    def sync(self) -> bool:
        return self.mode == "sync"


def parse_config(table: object, base: Path, where: str = "audit", default_file: str = "audit.jsonl") -> AuditConfig:
    """The `[audit]` table of either config: file (path, "" for none), log (bool), mode (async|sync)."""
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    unknown = sorted(set(table) - {"file", "log", "mode"})
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}: unknown key")
    file = table.get("file", default_file)
    if not isinstance(file, str):
        raise ConfigError(f'{where}.file: expected a path string ("" for no file)')
    log_on = table.get("log", True)
    if not isinstance(log_on, bool):
        raise ConfigError(f"{where}.log: expected true or false")
    mode = table.get("mode", "async")
    if mode not in MODES:
        raise ConfigError(f"{where}.mode: {mode!r} is not one of {', '.join(MODES)}")
    path = None
    if file:
        p = Path(file).expanduser()
        path = p if p.is_absolute() else base / p
    if path is None and not log_on:
        raise ConfigError(f"{where}: no sink (file is empty and log is false); audit cannot be turned off")
    if path is None and mode == "sync":
        # Sync refuses sessions whose record cannot be written; with no file nothing is ever
        # checked, so it would be fail-closed in name only.
        raise ConfigError(f'{where}.mode: "sync" needs a file (the log alone cannot refuse a session)')
    return AuditConfig(file=path, log=log_on, mode=mode)


class AuditSink:
    """Writes records to the configured sinks; remembers whether the last file write failed."""

    def __init__(self, cfg: AuditConfig, source: str) -> None:
        self.cfg = cfg
        self.source = source
        self.last_error: str | None = None
        self._fh: TextIO | None = None
        self._lock = threading.Lock()  # the server's login path may emit from an executor thread

    @property
    def sync(self) -> bool:
        return self.cfg.sync

    def emit(self, event: str, *, ok: bool = True, **fields: object) -> bool:
        """Writes one record; returns False when the file sink failed (see last_error)."""
        now = time.time()
        record: dict[str, object] = {
            "ts": round(now, 3),
            "time": datetime.fromtimestamp(now, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": event,
            "event_code": EVENT_CODES.get(event, "PA0000"),
            "ok": ok,
            "source": self.source,
        }
        record.update({k: v for k, v in fields.items() if v is not None})
        line = json.dumps(record, sort_keys=True, default=str, ensure_ascii=False)
        if self.cfg.log:
            log.info(line)
        if self.cfg.file is None:
            return True
        with self._lock:
            try:
                if self._fh is not None and self._rotated(self.cfg.file, self._fh):
                    self._drop_handle()  # logrotate moved it: continue in a new file at the path
                if self._fh is None:
                    self.cfg.file.parent.mkdir(parents=True, exist_ok=True)
                    self._fh = open(self.cfg.file, "a", encoding="utf-8")  # noqa: SIM115 - kept open
                self._fh.write(line + "\n")
                self._fh.flush()
                if self.cfg.sync:
                    os.fsync(self._fh.fileno())
            except OSError as e:
                self._drop_handle()
                if self.last_error is None:
                    _internal.error("audit file %s cannot be written: %s", self.cfg.file, e.strerror or e)
                self.last_error = e.strerror or str(e)
                return False
            if self.last_error is not None:
                _internal.warning("audit file %s is writable again", self.cfg.file)
            self.last_error = None
            return True

    @staticmethod
    def _rotated(path: Path, fh: TextIO) -> bool:
        """True when the open file is no longer the one at the configured path."""
        try:
            st = os.stat(path)
        except OSError:
            return True
        own = os.fstat(fh.fileno())
        return (st.st_dev, st.st_ino) != (own.st_dev, own.st_ino)

    def _drop_handle(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            with contextlib.suppress(OSError):
                fh.close()

    def close(self) -> None:
        with self._lock:
            self._drop_handle()


# The process-wide default: logger only, async. Agents and servers install their own.
_default = AuditSink(AuditConfig(file=None, log=True), source="porthole")


def emit(event: str, *, ok: bool = True, **fields: object) -> bool:
    return _default.emit(event, ok=ok, **fields)
