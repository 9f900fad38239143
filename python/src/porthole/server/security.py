"""The server's audit trail and session policy (docs/security.md).

- `[audit]`: where records go (porthole.audit: a file, default `audit.jsonl`
  next to the config, and/or the log; `mode = "sync"` refuses sessions whose
  record cannot be written).
- `[policy]`: `end_sessions_on_login_expiry` ends a socket's live sessions
  when its login token expires without `auth:refresh` (reason
  `login_expired`, to the client and to the agent).

Audited here: logins (succeeded, failed, rate limited), refused client
connections (no token, invalid, expired), `session:open` granted or refused
(with why: another org, no grant, ...), and every session leaving the
registry (reason, duration).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import jwt
import socketio
from aiohttp import web

from porthole import audit, errors, grant
from porthole.errors import PortholeError
from porthole.server.client_ns import ClientNamespace
from porthole.server.hub import Hub
from porthole.server.policyconfig import ServerPolicy
from porthole.server.sessions import Session

log = logging.getLogger("porthole.server.security")

AUDIT_UNAVAILABLE = "audit_unavailable"
LOGIN_EXPIRED = "login_expired"
# How often live sockets are checked for an expired login (a session ends at most this late).
EXPIRY_TICK_S = 1.0
# Strings copied from requests into audit records are cut to this length.
MAX_FIELD_LEN = 128


def _clean(v: object) -> str | None:
    """A request string fit for an audit record (never a secret: only names and ids go through here)."""
    if not isinstance(v, str):
        return None
    v = v[:MAX_FIELD_LEN]
    return v if v.isprintable() else v.encode("unicode_escape").decode()[:MAX_FIELD_LEN]


def token_problem(token: object) -> str:
    """Why a client token was refused, as a stable audit code."""
    if not isinstance(token, str) or not token:
        return "no_token"
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        exp = float(claims.get("exp", 0))
    except (jwt.InvalidTokenError, TypeError, ValueError):
        return "token_invalid"
    return "token_expired" if exp + grant.LEEWAY_S < time.time() else "token_invalid"


class AuditedClientNamespace(ClientNamespace):
    """`/client` with every refusal and every granted session audited."""

    def __init__(self, *args: Any, sink: audit.AuditSink, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.sink = sink
        self.opened_hooks: list[Callable[[dict[str, Any]], None]] = []  # e.g. the recordings store

    async def on_connect(self, sid: str, environ: dict, auth: Any) -> None:
        try:
            await super().on_connect(sid, environ, auth)
        except socketio.exceptions.ConnectionRefusedError:
            token = auth.get("token") if isinstance(auth, dict) else None
            self.sink.emit("connect.denied", ok=False, code=token_problem(token),
                           remote=_clean(environ.get("REMOTE_ADDR")))
            raise

    async def session_open(self, sid: str, data: Any) -> dict[str, Any]:
        conn = self.hub.clients.get(sid)
        d = data if isinstance(data, dict) else {}
        who = {"user": conn.user if conn else None, "org": conn.org if conn else None,
               "device": _clean(d.get("device_id")), "target": _clean(d.get("target_id")),
               "kind": _clean(d.get("kind")) or "terminal"}
        try:
            ack = await super().session_open(sid, data)
        except PortholeError as e:
            why = e.code
            dev = self.hub.config.devices.get(d.get("device_id")) if isinstance(d.get("device_id"), str) else None
            if e.code == errors.DENIED and conn is not None:
                why = "other_org" if dev is not None and dev.org != conn.org else "no_grant"
            elif e.code == errors.UNAUTHENTICATED and conn is not None:
                why = "token_expired"
            self.sink.emit("session.open_denied", ok=False, code=e.code, reason=why, **who)
            raise
        sid_ = ack["session_id"]
        if not self.sink.emit("session.opened", session_id=sid_, mode=ack.get("mode"), **who) and self.sink.sync:
            self.hub.sessions.remove(sid_)
            raise PortholeError(AUDIT_UNAVAILABLE, "the audit log cannot be written; no session without it")
        meta = {"session_id": sid_, "mode": ack.get("mode"), "opened_at": round(time.time(), 3), **who}
        for hook in self.opened_hooks:
            hook(meta)
        return ack


def session_end_hook(sink: audit.AuditSink):
    def on_end(s: Session, why: str, now: float) -> None:
        sink.emit("session.closed", session_id=s.id, user=s.user, org=s.org, device=s.device_id,
                  target=s.target_id, kind=s.kind, mode=s.mode, reason=why,
                  duration_s=round(now - s.created_at, 3), offered=s.offered)
    return on_end


def login_middleware(sink: audit.AuditSink):
    """Audits every POST /api/login by its answer: succeeded, failed or rate limited."""
    @web.middleware
    async def audit_login(request: web.Request, handler):
        response = await handler(request)
        if request.path != "/api/login" or request.method != "POST":
            return response
        user = None
        if (request.content_length or 0) <= 16 * 1024:
            try:
                body = json.loads(await request.read())
                user = _clean(body.get("username")) if isinstance(body, dict) else None
            except (ValueError, UnicodeDecodeError, web.HTTPException):
                pass
        status = response.status
        event = {200: "login.succeeded", 429: "login.rate_limited"}.get(status, "login.failed")
        code = {200: None, 401: errors.UNAUTHENTICATED, 429: errors.RATE_LIMITED}.get(status, errors.BAD_REQUEST)
        sink.emit(event, ok=status == 200, user=user, remote=_clean(request.remote), code=code)
        return response
    return audit_login


async def end_expired_logins(hub: Hub, policy: ServerPolicy) -> None:
    """Ends the sessions of sockets whose login token expired (when the policy says so)."""
    if not policy.end_sessions_on_login_expiry:
        return
    while True:
        await asyncio.sleep(EXPIRY_TICK_S)
        now = time.time()
        for conn in list(hub.clients.values()):
            if conn.token_expires_at + grant.LEEWAY_S >= now:
                continue
            for s in hub.sessions.for_client(conn.sid):
                payload = {"session_id": s.id, "reason": LOGIN_EXPIRED}
                log.info("session %s: login of user=%s expired", s.id, conn.user)
                await hub.end_session(s, LOGIN_EXPIRED, client=("webrtc:disconnect", payload),
                                      agent=("webrtc:disconnect", payload))
