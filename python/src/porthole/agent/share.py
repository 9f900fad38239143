"""Shared terminals on the device (docs/protocol.md §2f).

A viewer is a terminal session of its own (its own grant, in view mode, and its own peer
connection) that runs no shell: when its `terminal` channel opens, porthole-core makes
it a viewer of the owner's shell (WatchTerminal: one pump, the same output on every
channel, a slow viewer dropped to a resync from the scrollback ring, never slowing the
owner). The owner hands control to one viewer and takes it back (SetTerminalControl);
porthole-core drops, and counts, the input of everyone else, which the audit reports
rate limited (inputaudit.py). Who is in and who has control goes to the server on every
change (`share:state`). Every join, leave, handoff and refusal is audited.

A viewer's session ends when the owner's ends (`share_ended`); while the owner's shell
is detached (its connection lost) viewers keep watching, and a resume carries them over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import grpc

from porthole import errors, wire
from porthole.agent import ownerinput, screenshare
from porthole.agent.inputaudit import RefusedInput
from porthole.agent.session import Session
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

if TYPE_CHECKING:
    from porthole.agent.sessions import SessionManager

log = logging.getLogger("porthole.agent")

RPC_TIMEOUT_S = 10.0


def _owner(mgr: SessionManager, owner_id: str, *, terminal: bool = True) -> Session:
    owner = mgr.session(owner_id)
    if owner is None or owner.join_of or (terminal and (owner.shell is None or owner.shell.pty is None)):
        raise PortholeError(wire.SHARE_NOT_FOUND, "no shared terminal of that session on this device")
    return owner


async def join(mgr: SessionManager, viewer: Session) -> None:
    """The viewer's channel opened: it watches its owner's shell until the session ends."""
    try:
        owner = _owner(mgr, viewer.join_of)
        if owner.grant.org != viewer.grant.org or owner.grant.target_id != viewer.grant.target_id:
            raise PortholeError(wire.SHARE_INVALID, "the invitation is for another target")
        if viewer.join_issued_at <= owner.share_revoked_at:
            raise PortholeError(wire.SHARE_REVOKED, "the owner revoked this invitation")
        if len(owner.viewers) >= wire.MAX_VIEWERS:
            raise PortholeError(errors.TOO_MANY_SESSIONS, f"at most {wire.MAX_VIEWERS} viewers at once")
        assert owner.shell is not None
        try:  # the owner's shell may still be starting
            await asyncio.wait_for(owner.shell.handed_over.wait(), RPC_TIMEOUT_S)
        except TimeoutError:
            raise PortholeError(wire.SHARE_NOT_FOUND, "the shared shell did not start") from None
        stub = await mgr.sidecar.wait_ready(RPC_TIMEOUT_S)
        try:
            await stub.WatchTerminal(
                pb.WatchTerminalRequest(session_id=owner.id, viewer_session_id=viewer.id), timeout=RPC_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as e:
            raise PortholeError(wire.SHARE_NOT_FOUND, f"porthole-core refused the join: {e.details()}") from e
    except PortholeError as e:
        viewer.events.publish(
            "session.join_denied",
            viewer.id,
            ok=False,
            **viewer.audit_fields(),
            owner_session=viewer.join_of,
            code=e.code,
            reason=e.message,
        )
        raise
    owner.viewers[viewer.id] = viewer.grant.user
    viewer.events.publish(
        "session.joined", viewer.id, **viewer.audit_fields(), owner_session=owner.id, owner=owner.grant.user
    )
    log.info("viewer %s joined", viewer.id, extra={"session_id": owner.id})
    await push_state(mgr, owner)
    # Its refused keys: audited, and their total in its `session.ended` (`input_refused`).
    refused = viewer.refused = RefusedInput(viewer.id, lambda: mgr.sidecar.stub, lambda **f: _input_denied(viewer, **f))
    try:
        await refused.run()  # until the session ends (its close cancels this task)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(refused.finish())


async def join_screen(mgr: SessionManager, viewer: Session) -> None:
    """A viewer of a shared screen: a view-only screen session of the same display (its own
    capture; porthole-core refuses its input, audited as for any view-only screen, until the
    owner hands it control: screenshare.py)."""
    owner = mgr.session(viewer.join_of)
    full = owner is not None and len(owner.viewers) >= wire.MAX_VIEWERS
    if owner is None or owner.join_of or full or viewer.join_issued_at <= owner.share_revoked_at:
        code = wire.SHARE_REVOKED if owner is not None and not owner.join_of else wire.SHARE_NOT_FOUND
        code = errors.TOO_MANY_SESSIONS if full else code
        viewer.events.publish(
            "session.join_denied", viewer.id, ok=False, **viewer.audit_fields(), owner_session=viewer.join_of, code=code
        )
        raise PortholeError(code, "the shared screen is gone, or the invitation was revoked")
    owner.viewers[viewer.id] = viewer.grant.user
    viewer.events.publish(
        "session.joined", viewer.id, **viewer.audit_fields(), owner_session=owner.id, owner=owner.grant.user
    )
    await push_state(mgr, owner)


def _input_denied(viewer: Session, **fields: Any) -> None:
    viewer.events.publish(
        "session.input_denied", viewer.id, ok=False, **viewer.audit_fields(), owner_session=viewer.join_of, **fields
    )


async def left(mgr: SessionManager, viewer: Session, reason: str) -> None:
    """A viewer's session ended: out of its owner's list (control back to the owner if it had it)."""
    owner = mgr.session(viewer.join_of)
    if owner is None or viewer.id not in owner.viewers:
        return
    del owner.viewers[viewer.id]
    if owner.controller == viewer.id:
        await ownerinput.stop(owner)
        owner.controller = ""  # porthole-core gave a terminal back when the viewer's channel closed
        if screenshare.is_screen(owner):
            await screenshare.give_back(mgr, owner)  # a screen's, here
        _control_record(owner, "", by="left")
    viewer.events.publish("session.left", viewer.id, **viewer.audit_fields(), owner_session=owner.id, reason=reason)
    await push_state(mgr, owner)


async def owner_ended(mgr: SessionManager, owner: Session) -> None:
    """The owner's session ended: its viewers' end too."""
    await ownerinput.stop(owner)
    for vid in list(owner.viewers):
        v = mgr.session(vid)
        if v is not None:
            v.events.publish("session.left", vid, **v.audit_fields(), owner_session=owner.id, reason=wire.SHARE_ENDED)
            await mgr.outbox.error(vid, PortholeError(wire.SHARE_ENDED, "the shared session ended"))
            mgr.spawn(mgr.close(vid, wire.SHARE_ENDED))
    owner.viewers.clear()


def carry_over(mgr: SessionManager, old: Session, new: Session) -> None:
    """A resume: the viewers of the old session watch the new one (porthole-core moved the pump,
    its viewers and its controller with the shell)."""
    new.viewers, new.controller, new.share_revoked_at = old.viewers, old.controller, old.share_revoked_at
    ownerinput.stop_now(old)
    if new.controller:
        ownerinput.watch(mgr, new)
    old.viewers, old.controller = {}, ""
    for vid in new.viewers:
        v = mgr.session(vid)
        if v is not None:
            v.join_of = new.id


async def set_control(mgr: SessionManager, owner_id: str, to: str) -> None:
    """Control of the owner's shell (or screen: screenshare.py) to its viewer `to`, or back to the owner ("")."""
    owner = _owner(mgr, owner_id, terminal=False)
    if isinstance(owner, screenshare.ScreenSession):
        await screenshare.hand_over(mgr, owner, to)
    else:
        owner = _owner(mgr, owner_id)
        if to and to not in owner.viewers:
            raise PortholeError(wire.NOT_A_VIEWER, "that session does not watch this one")
        stub = await mgr.sidecar.wait_ready(RPC_TIMEOUT_S)
        try:
            await stub.SetTerminalControl(
                pb.SetTerminalControlRequest(session_id=owner.id, controller_session_id=to), timeout=RPC_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as e:
            code = wire.NOT_A_VIEWER if e.code() == grpc.StatusCode.NOT_FOUND and to else wire.SHARE_NOT_FOUND
            raise PortholeError(code, f"porthole-core refused: {e.details()}") from e
    if not to:
        await ownerinput.stop(owner)  # its refused keys recorded while the controller is still named
    owner.controller = to
    if to:
        ownerinput.watch(mgr, owner)  # the owner's own keys are refused now: audited
    _control_record(owner, to, by=owner.grant.user)
    await push_state(mgr, owner)


def _control_record(owner: Session, to: str, by: str) -> None:
    owner.events.publish(
        "session.control",
        owner.id,
        **owner.audit_fields(),
        by=by,
        to_session=to or owner.id,
        to_user=owner.viewers.get(to, owner.grant.user) if to else owner.grant.user,
        taken_back=not to,
    )


async def push_state(mgr: SessionManager, owner: Session) -> None:
    people = [{"session_id": owner.id, "user": owner.grant.user, "role": wire.ROLE_OWNER}]
    people += [{"session_id": v, "user": u, "role": wire.ROLE_VIEWER} for v, u in owner.viewers.items()]
    await mgr.outbox.emit(
        "share:state", {"session_id": owner.id, "participants": people, "controller": owner.controller}
    )


class ShareHandlers:
    """`share:control` and `share:revoke` from the server: the ack is the answer."""

    def __init__(self, mgr: SessionManager) -> None:
        self.mgr = mgr

    def _sid(self, data: object) -> str:
        sid = data.get("session_id") if isinstance(data, dict) else None
        if not isinstance(sid, str) or not wire.session_id_ok(sid):
            raise PortholeError(errors.BAD_REQUEST, "session_id missing or malformed")
        return sid

    async def on_control(self, data: object) -> dict[str, Any]:
        try:
            sid = self._sid(data)
            to = data.get("to") if isinstance(data, dict) else None
            to = to if isinstance(to, str) and wire.session_id_ok(to) else ""
            await set_control(self.mgr, sid, to)
            return {"ok": True, "controller": to}
        except PortholeError as e:
            return {"ok": False, "error": e.to_wire()}

    async def on_request(self, data: object) -> dict[str, Any]:
        """`share:request` relayed by the server: which session the viewer watches, so that the
        server tells that session's owner (the device knows; the server may have forgotten, by a
        restart, or never known, after the owner's resume)."""
        try:
            viewer = self.mgr.session(self._sid(data))
            owner = self.mgr.session(viewer.join_of) if viewer is not None and viewer.join_of else None
            if viewer is None or owner is None or viewer.id not in owner.viewers:
                raise PortholeError(wire.SHARE_NOT_FOUND, "this session watches no shared session")
            return {"ok": True, "owner_session_id": owner.id}
        except PortholeError as e:
            return {"ok": False, "error": e.to_wire()}

    async def on_revoke(self, data: object) -> dict[str, Any]:
        try:
            owner = _owner(self.mgr, self._sid(data), terminal=False)
            owner.share_revoked_at = int(time.time())
            owner.events.publish("session.control", owner.id, **owner.audit_fields(), by=owner.grant.user, revoked=True)
            return {"ok": True}
        except PortholeError as e:
            return {"ok": False, "error": e.to_wire()}
