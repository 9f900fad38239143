"""The agent's audit trail: which EventBus events become audit records, and
what a refused offer says about who tried.

Records go to the agent's AuditSink (porthole.audit: file and/or log, sync or
async; `[audit]` in the agent config). The session events carry user, org,
device, target, kind, mode, exec user and shell, session id, start time;
`session.ended` adds reason, duration, bytes each way and the exit code;
`session.denied` the error code and message, plus the claims of the refused
grant as `claimed_*` fields (unverified: who it says it is, not who it is).
"""

from __future__ import annotations

from collections.abc import Callable

import jwt

from porthole import grant
from porthole.agent.events import Event
from porthole.audit import AuditSink
from porthole.errors import PortholeError

# Which bus events go to the audit log, and nothing else (candidates and state
# changes are debugging detail, for `porthole ctl watch`).
AUDITED = frozenset(
    {
        "session.requested",
        "session.denied",
        "session.started",
        "session.resized",
        "session.ended",
        "session.detached",  # detached.py: the shell waits for a resume
        "session.resumed",
        "session.input_denied",  # a view-only screen session's input attempts (inputaudit.py), rate limited
        "session.joined",  # share.py: a viewer joined a shared terminal
        "session.left",
        "session.control",  # control handed to a viewer, taken back, invitations revoked
        "session.join_denied",
        "session.clipboard",  # screen clipboard text moved or refused: direction and bytes, never content
        "session.file",  # a file moved on the `files` channel (or refused): name, path, size, sha256
        "recording.capped",  # the recording stopped at [recording] max_bytes; the session went on
    }
)
_CLAIMS = {
    "sub": "claimed_user",
    "org": "claimed_org",
    "tgt": "claimed_target",
    "kind": "claimed_kind",
    "mode": "claimed_mode",
    "dev": "claimed_device",
}
# Claims copied from a refused grant are cut to this length: they come from whoever sent it.
MAX_CLAIM_LEN = 128


def subscriber(sink: AuditSink) -> Callable[[Event], None]:
    def on_event(ev: Event) -> None:
        if ev.name in AUDITED:
            fields = dict(ev.fields)
            ok = bool(fields.pop("ok", True))
            sink.emit(ev.name, ok=ok, session_id=ev.session_id, **fields)

    return on_event


def identity(offer: object, public_key, device_id: str) -> dict[str, str]:
    """Who a refused offer was for: the verified user, org, target, kind and mode when its grant
    is good (a policy refusal), else what the grant claims (claimed_*)."""
    try:
        g = grant.verify(offer.get("grant") if isinstance(offer, dict) else None, public_key, device_id=device_id)
    except PortholeError:
        return claimed(offer)
    return {"user": g.user, "org": g.org, "target": g.target_id, "kind": g.kind, "mode": g.mode}


def claimed(offer: object) -> dict[str, str]:
    """The (unverified) identity a refused offer's grant claims, for the denied record."""
    token = offer.get("grant") if isinstance(offer, dict) else None
    if not isinstance(token, str) or len(token) > 4096:
        return {}
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return {}
    return {
        field: str(claims[k])[:MAX_CLAIM_LEN] for k, field in _CLAIMS.items() if isinstance(claims.get(k), (str, int))
    }
