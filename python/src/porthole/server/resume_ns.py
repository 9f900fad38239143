"""Resume on the server's side (docs/protocol.md §4c): a resume token for a
session of the asking user (`session:resume_token`), and the check of the one a
`session:open` carries before it goes to the device with the offer.

Both check the user's current authorization for the session's target: a user
who lost access cannot resume (`resume_denied`). The device checks the token
again (signature, single use, that its shell is detached and the user's).
"""

from __future__ import annotations

from typing import Any

from porthole import errors, resume, wire
from porthole.errors import PortholeError
from porthole.server.authz import Policy
from porthole.server.config import User
from porthole.server.sessions import Session


def authorize(policy: Policy, user: User, device_id: str, target_id: str, kind: str, mode: str | None) -> str:
    """The mode the user may still resume with, or resume_denied."""
    try:
        return policy.authorize(user, device_id, target_id, kind, mode)
    except PortholeError as e:
        if e.code == errors.DENIED:
            raise PortholeError(wire.RESUME_DENIED, "you may no longer open that target") from None
        raise


def issue(key: Any, policy: Policy, user: User, s: Session, ttl_s: int) -> dict[str, Any]:
    """A resume token for s, which the caller checked is this user's."""
    if s.kind != "terminal":
        raise PortholeError(wire.RESUME_INVALID, "only a terminal can be resumed")
    authorize(policy, user, s.device_id, s.target_id, s.kind, s.mode)
    token = resume.sign(
        key,
        session_id=s.id,
        user=user.name,
        org=user.org,
        device_id=s.device_id,
        target_id=s.target_id,
        ttl_s=ttl_s,
    )
    return {"ok": True, "session_id": s.id, "token": token, "expires_in_s": ttl_s}


def check_open(raw: object, public_key: Any, user: User, device_id: str, target_id: str) -> dict[str, str]:
    """The `resume` of a session:open, checked: {session_id, token} for the offer."""
    if not isinstance(raw, dict) or not wire.session_id_ok(raw.get("session_id")):
        raise PortholeError(errors.BAD_REQUEST, "resume must be {session_id, token}")
    tok = resume.verify(raw.get("token"), public_key, device_id=device_id)
    if tok.user != user.name or tok.org != user.org:
        raise PortholeError(wire.RESUME_WRONG_USER, "the resume token is another user's")
    if tok.session_id != raw["session_id"] or tok.target_id != target_id:
        raise PortholeError(wire.RESUME_INVALID, "the resume token is for another session or target")
    return {"session_id": tok.session_id, "token": raw["token"]}
