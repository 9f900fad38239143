"""Shared sessions on the server's side (docs/protocol.md §2f).

The owner of a terminal session invites (`share:invite`): a user of the same org who
may see the target (told at once with `share:invited` on their sockets), or, without a
user, a link any logged-in user of that org with access may use once. A joiner opens a
session with `join` (checked here: the token, that it is theirs or a link, and their
current authorization; the session is opened in view mode) and the device checks the
token again. The owner hands control to a viewer and takes it back (`share:control`),
or revokes the invitations not used yet (`share:revoke`); a viewer asks for control
(`share:request`, relayed to the owner). The device is the authority on who is in the
session and who has control: it sends `share:state`, relayed to every participant.

Everything is audited: share.invited, share.denied (with the code), share.control.
"""

from __future__ import annotations

import asyncio
from typing import Any

from porthole import errors, share, wire
from porthole.errors import PortholeError
from porthole.server import payloads
from porthole.server.authz import Policy
from porthole.server.config import User
from porthole.server.hub import AGENT_NS, CLIENT_NS, Hub
from porthole.server.sessions import Session

# How long a relayed control request waits for the device's answer (it answers at once).
DEVICE_TIMEOUT_S = 5.0
MAX_USER_LEN = 128


def user_room(org: str, user: str) -> str:
    return f"user:{org}:{user}"


def may_view(policy: Policy, user: User, device_id: str, target_id: str, kind: str = "terminal") -> None:
    """Raises share_denied unless user may see that target (a view of a terminal or screen)."""
    try:
        policy.authorize(user, device_id, target_id, kind, "view")
    except PortholeError as e:
        if e.code == errors.DENIED:
            raise PortholeError(wire.SHARE_DENIED, "that user may not see this target") from None
        raise


def invite(key: Any, policy: Policy, owner: User, s: Session, invitee_name: str | None, ttl_s: int) -> dict[str, Any]:
    """A share token for s (the caller checked it is owner's): for invitee_name, or a link."""
    if s.kind not in ("terminal", "screen"):
        raise PortholeError(wire.SHARE_INVALID, "only a terminal or a screen can be shared")
    if invitee_name is not None:
        invitee = policy.user(invitee_name)
        if invitee is None or invitee.org != owner.org or invitee.name == owner.name:
            raise PortholeError(wire.SHARE_DENIED, "no such user in your organisation")
        may_view(policy, invitee, s.device_id, s.target_id, s.kind)
    token = share.sign(
        key,
        session_id=s.id,
        user=invitee_name or share.LINK,
        owner=owner.name,
        org=owner.org,
        device_id=s.device_id,
        target_id=s.target_id,
        ttl_s=ttl_s,
    )
    return {"ok": True, "session_id": s.id, "token": token, "expires_in_s": ttl_s}


def check_join(
    raw: object, public_key: Any, policy: Policy, user: User, device_id: str, target_id: str, kind: str
) -> dict[str, str]:
    """The `join` of a session:open, checked: {session_id, token} for the offer."""
    if not isinstance(raw, dict) or not wire.session_id_ok(raw.get("session_id")):
        raise PortholeError(errors.BAD_REQUEST, "join must be {session_id, token}")
    tok = share.verify(raw.get("token"), public_key, device_id=device_id)
    if tok.session_id != raw["session_id"] or tok.target_id != target_id:
        raise PortholeError(wire.SHARE_INVALID, "the share token is for another session or target")
    if not share.for_user(tok, user.name, user.org):
        raise PortholeError(wire.SHARE_DENIED, "the invitation is not for you")
    may_view(policy, user, device_id, target_id, kind)
    return {"session_id": tok.session_id, "token": raw["token"]}


def invitee(d: dict[str, Any]) -> str | None:
    v = d.get("user")
    if v is None:
        return None
    if not isinstance(v, str) or not v or len(v) > MAX_USER_LEN:
        raise PortholeError(errors.BAD_REQUEST, "user must be a user name")
    return v


def control_target(d: dict[str, Any]) -> str:
    """`to` of share:control: a viewer's session id, or "" (null) to take control back."""
    v = d.get("to")
    if v is None or v == "":
        return ""
    if not wire.session_id_ok(v):
        raise PortholeError(errors.BAD_REQUEST, "to must be a session id or null")
    return str(v)


async def owner_session(hub: Hub, viewer: Session) -> Session:
    """The live session a viewer's session watches. The device is asked (`share:request`): it
    is the authority, and this server may not know (a restarted server restored the viewer's
    session from its grant, which names no owner; the owner resumed into a new session)."""
    ack = await ask_device(hub, viewer, "share:request", {"session_id": viewer.id})
    owner_id = ack.get("owner_session_id")
    owner = await hub.session(owner_id) if isinstance(owner_id, str) and wire.session_id_ok(owner_id) else None
    if (
        owner is None
        or (owner.device_id, owner.org, owner.target_id, owner.kind)
        != (viewer.device_id, viewer.org, viewer.target_id, viewer.kind)
        or owner.agent_sid != viewer.agent_sid
    ):
        raise PortholeError(wire.SHARE_NOT_FOUND, "the shared session is not known here (yet)")
    return owner


async def ask_device(hub: Hub, s: Session, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Sends event to the device of s and returns its ack (an error ack raises)."""
    if not s.offered or not s.agent_sid or await hub.store.get_agent(s.agent_sid) is None:
        raise PortholeError(errors.DEVICE_OFFLINE, "the device is not connected right now")
    answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def on_ack(*args: Any) -> None:
        if not answered.done():
            answered.set_result(args[0] if args else None)

    await hub.sio.emit(event, payload, to=s.agent_sid, namespace=AGENT_NS, callback=on_ack)
    try:
        ack = await asyncio.wait_for(answered, DEVICE_TIMEOUT_S)
    except TimeoutError:
        raise PortholeError(errors.DEVICE_OFFLINE, "the device did not answer") from None
    if not isinstance(ack, dict):
        raise PortholeError(errors.INTERNAL, "the device's answer is malformed")
    if not ack.get("ok"):
        raw = ack.get("error")
        err: dict[str, Any] = raw if isinstance(raw, dict) else {}
        code = err.get("code") if isinstance(err.get("code"), str) else errors.INTERNAL
        raise PortholeError(code if code in wire.ERROR_CODES else errors.INTERNAL, str(err.get("message", ""))[:256])
    return ack


async def tell_invitee(hub: Hub, s: Session, invitee_name: str, out: dict[str, Any], owner: str) -> None:
    await hub.sio.emit(
        "share:invited",
        {
            "session_id": s.id,
            "device_id": s.device_id,
            "target_id": s.target_id,
            "from": owner,
            "token": out["token"],
            "expires_in_s": out["expires_in_s"],
        },
        room=user_room(s.org, invitee_name),
        namespace=CLIENT_NS,
    )


def state_payload(d: dict[str, Any]) -> tuple[str, list[dict[str, str]], str]:
    """A device's `share:state`: (owner session, participants, controller)."""
    owner = payloads.session_id(d)
    raw = d.get("participants")
    if not isinstance(raw, list) or len(raw) > wire.MAX_VIEWERS + 1:
        raise PortholeError(errors.BAD_REQUEST, "participants must be a list")
    people: list[dict[str, str]] = []
    for p in raw:
        if (
            not isinstance(p, dict)
            or not wire.session_id_ok(p.get("session_id"))
            or p.get("role") not in (wire.ROLE_OWNER, wire.ROLE_VIEWER)
            or not isinstance(p.get("user"), str)
            or len(p["user"]) > MAX_USER_LEN
        ):
            raise PortholeError(errors.BAD_REQUEST, "participant must be {session_id, user, role}")
        people.append({"session_id": p["session_id"], "user": p["user"], "role": p["role"]})
    controller = d.get("controller") or ""
    if controller and not wire.session_id_ok(controller):
        raise PortholeError(errors.BAD_REQUEST, "controller must be a session id or empty")
    return owner, people, str(controller)
