"""The server's audit trail: which bus events become audit records (docs/security.md).

Records go to the server's AuditSink (porthole.audit: a file, default
`audit.jsonl` next to the config, and/or the log; `mode = "sync"` refuses
sessions whose record cannot be written: `sync_ok` is what client_ns asks).

Audited: logins (succeeded, failed, rate limited), refused client connections
(no token, invalid, expired, revoked), refused device secrets (agent connects
and recording uploads: wrong secret or rate limited), `session:open` granted or refused (with
why: another org, no grant, ...), and every session leaving the store (reason,
duration), including one never offered before its grant expired. Recordings
stored, downloaded or refused are audited by the recordings store itself.
"""

from __future__ import annotations

from collections.abc import Callable

from porthole import errors
from porthole.audit import AuditSink
from porthole.events import Event

# Strings copied from requests into events (and so audit records) are cut to this length.
MAX_FIELD_LEN = 128
# Bus event -> audit record name, for the events recorded as they are.
RECORDS = {
    "session.opened": "session.opened",
    "session.open_denied": "session.open_denied",
    "session.closed": "session.closed",
    "session.rerouted": "session.rerouted",
    "session.ice_restarted": "session.ice_restarted",
    "session.resume_token": "session.resume_token",
    "session.resume_denied": "session.resume_denied",
    "share.invited": "share.invited",
    "share.denied": "share.denied",
    "share.control": "share.control",
    "client.denied": "connect.denied",
    "device.denied": "device.denied",
}
# Fields of a bus event that are not for the audit record.
NOT_RECORDED = frozenset({"opened_at"})
# A `login` event's result -> (record name, ok, code).
LOGIN_RECORDS = {
    "ok": ("login.succeeded", True, None),
    "failed": ("login.failed", False, errors.UNAUTHENTICATED),
    "rate_limited": ("login.rate_limited", False, errors.RATE_LIMITED),
    "bad_request": ("login.failed", False, errors.BAD_REQUEST),
}


def clean(v: object) -> str | None:
    """A request string fit for an audit record (never a secret: only names and ids go through here)."""
    if not isinstance(v, str):
        return None
    v = v[:MAX_FIELD_LEN]
    return v if v.isprintable() else v.encode("unicode_escape").decode()[:MAX_FIELD_LEN]


def subscriber(sink: AuditSink) -> Callable[[Event], None]:
    def on_event(ev: Event) -> None:
        if ev.name == "login":
            name, ok, code = LOGIN_RECORDS.get(str(ev.fields.get("result")), LOGIN_RECORDS["bad_request"])
            sink.emit(name, ok=ok, user=ev.fields.get("user"), remote=ev.fields.get("remote"), code=code)
            return
        record = RECORDS.get(ev.name)
        if record is None:
            return
        fields = {k: v for k, v in ev.fields.items() if k not in NOT_RECORDED}
        sink.emit(record, ok=bool(fields.pop("ok", True)), session_id=ev.session_id, **fields)

    return on_event


def sync_ok(sink: AuditSink) -> Callable[[], bool]:
    """False while a synchronous audit's last write failed: no new session then."""
    return lambda: not (sink.sync and sink.last_error is not None)
