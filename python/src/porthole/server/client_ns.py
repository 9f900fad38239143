"""Socket.IO namespace `/client`: browsers and other clients (docs/protocol.md §2).

State is the hub's store; what happens to sessions is published on the hub's
event bus (client.denied, session.opened, session.open_denied; session.closed
from the hub), where audit, metrics and recordings listen.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import socketio

from porthole import errors, grant, share, wire
from porthole.errors import PortholeError
from porthole.server import clientaddr, execopts, ice, payloads, resume_ns, share_ns
from porthole.server.auditing import clean
from porthole.server.auth import TokenRevoked, Tokens, token_problem
from porthole.server.authz import Policy
from porthole.server.hub import AGENT_NS, CLIENT_NS, EventNamespace, Hub, log, org_room
from porthole.server.rebind import Rebinder
from porthole.server.sessions import MAX_PENDING_ICE, Session, new_session_id
from porthole.server.store import ClientConn

# How long `session:extend` waits for the device's answer (it answers at once).
EXTEND_TIMEOUT_S = 5.0


class ClientNamespace(EventNamespace):
    def __init__(
        self,
        hub: Hub,
        tokens: Tokens,
        policy: Policy,
        signing_key: Any,
        rebinder: Rebinder,
        audit_ok: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(CLIENT_NS, hub)
        self.rebinder = rebinder
        self.tokens = tokens
        self.policy = policy
        self.signing_key = signing_key
        # False when the audit is synchronous and its last record could not be written:
        # no session without its record (docs/security.md).
        self.audit_ok = audit_ok
        self.handlers = {
            "auth:refresh": self.refresh,
            "devices:list": self.devices_list,
            "session:open": self.session_open,
            "session:rebind": self.rebind,
            "webrtc:offer": self.offer,
            "webrtc:ice": self.ice,
            "webrtc:restart": self.restart,
            "webrtc:disconnect": self.disconnect_session,
            "session:extend": self.extend,
            "session:resume_token": self.resume_token,
            "share:invite": self.share_invite,
            "share:control": self.share_control,
            "share:revoke": self.share_revoke,
            "share:request": self.share_request,
        }

    async def on_connect(self, sid: str, environ: dict, auth: Any) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        try:
            ident = await self.tokens.check(token)
            if self.policy.user(ident.user) is None:
                raise PortholeError(errors.UNAUTHENTICATED, "unknown user")
        except PortholeError as e:
            log.info("client connect %s refused: %s", sid, e.message)
            code = "token_revoked" if isinstance(e, TokenRevoked) else token_problem(token)
            self.hub.events.publish(
                "client.denied",
                None,
                ok=False,
                code=code,
                remote=clean(clientaddr.of_environ(environ, self.hub.config.server.trusted_proxies)),
            )
            raise socketio.exceptions.ConnectionRefusedError(e.message, e.to_wire()) from None
        await self.hub.store.add_client(ClientConn(sid, ident.user, ident.org, ident.expires_at, self.hub.node_id))
        await self.enter_room(sid, org_room(ident.org))
        await self.enter_room(sid, share_ns.user_room(ident.org, ident.user))  # share:invited
        log.info("client %s connected: user=%s", sid, ident.user)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if not self.hub.keeps_state():
            await self.gone(sid)

    async def gone(self, sid: str) -> None:
        """The client socket is gone (disconnected, or its node died): its sessions wait for a
        rebind for signaling_grace_s (rebind.py), then end."""
        conn = await self.hub.store.remove_client(sid)
        if conn is None:
            return
        log.info("client %s disconnected: user=%s", sid, conn.user)
        await self.rebinder.client_lost(sid)  # its sessions wait for a rebind (rebind.py)

    async def _conn(self, sid: str) -> ClientConn:
        conn = await self.hub.store.get_client(sid)
        if conn is None:
            raise PortholeError(errors.UNAUTHENTICATED, "not connected")
        # The socket outlives the token; new authority needs a fresh login.
        if conn.token_expires_at + grant.LEEWAY_S < time.time():
            raise PortholeError(errors.UNAUTHENTICATED, "token expired: log in again")
        return conn

    async def _own_session(self, sid: str, d: dict[str, Any]) -> Session:
        s = await self.hub.session(payloads.session_id(d))
        if s is None or s.client_sid != sid:
            raise PortholeError(errors.SESSION_NOT_FOUND, "no such session")
        return s

    async def refresh(self, sid: str, data: Any) -> dict[str, Any]:
        """A fresh token from a new login extends this socket's authority;
        the socket and its sessions stay as they are."""
        conn = await self.hub.store.get_client(sid)
        if conn is None:
            raise PortholeError(errors.UNAUTHENTICATED, "not connected")
        ident = await self.tokens.check(payloads.obj(data).get("token"))
        if (ident.user, ident.org) != (conn.user, conn.org):
            raise PortholeError(errors.UNAUTHENTICATED, "the token is for another user")
        await self.hub.store.set_client_expiry(sid, ident.expires_at)
        return {"ok": True, "expires_at": int(ident.expires_at)}

    async def rebind(self, sid: str, data: Any) -> dict[str, Any]:
        """The client's live sessions, re-announced on a new socket (rebind.py)."""
        ids = payloads.rebind_request(data)
        conn = await self._conn(sid)
        return {"ok": True, "sessions": await self.rebinder.rebind_client(conn, ids)}

    async def devices_list(self, sid: str, data: Any) -> dict[str, Any]:
        payloads.obj(data)
        conn = await self._conn(sid)
        user = self.policy.user(conn.user)
        if user is None:
            raise PortholeError(errors.UNAUTHENTICATED, "unknown user")
        out = []
        for dev in self.policy.visible_devices(user):
            agent = await self.hub.store.agent_for(dev.id)
            targets = (
                [dict(t) for t in agent.targets if self.policy.target_visible(user, dev, t["id"])] if agent else []
            )
            out.append({"id": dev.id, "name": dev.name, "online": agent is not None, "targets": targets})
        return {"ok": True, "devices": out}

    async def session_open(self, sid: str, data: Any) -> dict[str, Any]:
        """Opens a session; publishes session.opened, or session.open_denied with why."""
        conn = await self.hub.store.get_client(sid)
        d = data if isinstance(data, dict) else {}
        who = {
            "user": conn.user if conn else None,
            "org": conn.org if conn else None,
            "device": clean(d.get("device_id")),
            "target": clean(d.get("target_id")),
            "kind": clean(d.get("kind")) or "terminal",
        }
        try:
            ack = await self._open(sid, data)
            if not self.audit_ok():
                s = await self.hub.store.get_session(ack["session_id"])
                if s is not None:
                    await self.hub.end_session(s, wire.AUDIT_UNAVAILABLE)
                raise PortholeError(wire.AUDIT_UNAVAILABLE, "the audit log cannot be written; no session without it")
        except PortholeError as e:
            self.hub.events.publish(
                "session.open_denied", None, ok=False, code=e.code, reason=self._why(e, conn, d), **who
            )
            raise
        return ack

    def _why(self, e: PortholeError, conn: ClientConn | None, d: dict[str, Any]) -> str:
        """The audit's reason for a refusal: the code, made finer where it hides two cases."""
        if e.code == errors.DENIED and conn is not None:
            device_id = d.get("device_id")
            dev = self.hub.config.devices.get(device_id) if isinstance(device_id, str) else None
            return "other_org" if dev is not None and dev.org != conn.org else "no_grant"
        if e.code == errors.UNAUTHENTICATED and conn is not None:
            return "token_expired"
        return e.code

    async def _open(self, sid: str, data: Any) -> dict[str, Any]:
        conn = await self._conn(sid)
        user = self.policy.user(conn.user)
        if user is None:
            raise PortholeError(errors.UNAUTHENTICATED, "unknown user")
        req = payloads.open_request(data)
        options = execopts.parse(data)
        resuming = isinstance(data, dict) and "resume" in data
        joining = isinstance(data, dict) and "join" in data
        if resuming and joining:
            raise PortholeError(errors.BAD_REQUEST, "a session either resumes or joins")
        if joining:
            options["join"] = share_ns.check_join(
                data["join"], self.signing_key.public_key(), self.policy, user, req.device_id, req.target_id, req.kind
            )
            mode = "view"  # a viewer watches; control is the owner's to hand over (docs/protocol.md §2f)
        elif resuming:
            options["resume"] = resume_ns.check_open(
                data["resume"], self.signing_key.public_key(), user, req.device_id, req.target_id
            )
            mode = resume_ns.authorize(self.policy, user, req.device_id, req.target_id, req.kind, req.mode)
        else:
            mode = self.policy.authorize(user, req.device_id, req.target_id, req.kind, req.mode)
        agent = await self.hub.store.agent_for(req.device_id)
        if agent is None:
            raise PortholeError(errors.DEVICE_OFFLINE, "the device is offline")
        target = next((t for t in agent.targets if t["id"] == req.target_id), None)
        if target is None:
            raise PortholeError(errors.TARGET_NOT_FOUND, "the device has no such target")
        if (req.kind == "screen") != (target.get("kind") == "screen"):
            raise PortholeError(errors.BAD_REQUEST, f"this target cannot be opened as a {req.kind}")
        cfg = self.hub.config.server
        await self.hub.expire_unoffered()  # a session past its grant holds no slot
        # A resume takes the place of its detached session, which still counts.
        if await self.hub.store.count_sessions(user.name) >= cfg.max_sessions_per_user + int(resuming):
            raise PortholeError(errors.TOO_MANY_SESSIONS, f"at most {cfg.max_sessions_per_user} sessions at once")
        session_id = new_session_id()
        fp = self.policy.files(user, req.device_id, req.target_id, req.kind, mode)
        signed = grant.sign(
            self.signing_key,
            session_id=session_id,
            user=user.name,
            org=user.org,
            device_id=req.device_id,
            target_id=req.target_id,
            kind=req.kind,
            mode=mode,
            ttl_s=cfg.grant_ttl_s,
            files=fp.files,
            files_max_bytes=fp.files_max_bytes,
            file_dirs=fp.file_dirs,
        )
        now = self.hub.clock()
        await self.hub.store.add_session(
            Session(
                id=session_id,
                user=user.name,
                org=user.org,
                device_id=req.device_id,
                target_id=req.target_id,
                kind=req.kind,
                mode=mode,
                client_sid=sid,
                agent_sid=agent.sid,
                grant=signed,
                cols=req.cols,
                rows=req.rows,
                created_at=now,
                offer_deadline=now + cfg.grant_ttl_s,
                exec_options=options,
            )
        )
        log.info(
            "session %s opened: user=%s device=%s target=%s kind=%s mode=%s",
            session_id,
            user.name,
            req.device_id,
            req.target_id,
            req.kind,
            mode,
        )
        self.hub.events.publish(
            "session.opened",
            session_id,
            user=user.name,
            org=user.org,
            device=req.device_id,
            target=req.target_id,
            kind=req.kind,
            mode=mode,
            opened_at=round(time.time(), 3),
        )
        servers = ice.servers_for(self.hub.config, session_id, device=False, login_expires_at=conn.token_expires_at)
        return {
            "ok": True,
            "session_id": session_id,
            "ice_servers": servers,
            "mode": mode,
            "ice_transport_policy": ice.transport_policy(self.hub.config, req.device_id),
        }

    async def offer(self, sid: str, data: Any) -> dict[str, Any]:
        d = payloads.obj(data)
        s = await self._own_session(sid, d)
        sdp = payloads.sdp(d, "offer")
        cols = payloads.dim(d, "cols", s.cols)
        rows = payloads.dim(d, "rows", s.rows)
        if s.offered:
            raise PortholeError(errors.BAD_REQUEST, "an offer was already sent for this session")
        if await self.hub.store.get_agent(s.agent_sid) is None:
            await self.hub.end_session(s, errors.DEVICE_OFFLINE)
            raise PortholeError(errors.DEVICE_OFFLINE, "the device is offline")
        pending = await self.hub.store.mark_offered(s.id)
        if pending is None:
            raise PortholeError(errors.BAD_REQUEST, "an offer was already sent for this session")
        conn = await self._conn(sid)
        device_ice = ice.servers_for(self.hub.config, s.id, device=True, login_expires_at=conn.token_expires_at)
        await self.hub.to_agent(
            "webrtc:offer",
            {
                "session_id": s.id,
                "type": "offer",
                "sdp": sdp,
                "grant": s.grant,
                "cols": cols,
                "rows": rows,
                "ice_servers": device_ice,
                "ice_transport_policy": ice.transport_policy(self.hub.config, s.device_id),
                **s.exec_options,
            },
            s.agent_sid,
        )
        for c in pending:
            await self.hub.to_agent("webrtc:ice", {"session_id": s.id, "candidate": c}, s.agent_sid)
        log.info("session %s: offer relayed to device=%s", s.id, s.device_id)
        return {"ok": True}

    async def restart(self, sid: str, data: Any) -> dict[str, Any]:
        """An ICE restart (docs/protocol.md §4b): a new offer for a live session, relayed to the
        device, which answers it on the same peer connection (`webrtc:answer`)."""
        d = payloads.obj(data)
        s = await self._own_session(sid, d)
        sdp = payloads.sdp(d, "offer")
        if not s.offered:
            raise PortholeError(errors.BAD_REQUEST, "no offer was sent for this session yet")
        if not s.agent_sid or await self.hub.store.get_agent(s.agent_sid) is None:
            # The device's socket is away (it re-announces the session when back): try again then.
            raise PortholeError(errors.DEVICE_OFFLINE, "the device is not connected right now; try again")
        await self.hub.to_agent("webrtc:restart", {"session_id": s.id, "type": "offer", "sdp": sdp}, s.agent_sid)
        log.info("session %s: ICE restart relayed to device=%s", s.id, s.device_id)
        self.hub.publish_session("session.ice_restarted", s)
        return {"ok": True}

    async def ice(self, sid: str, data: Any) -> dict[str, Any]:
        d = payloads.obj(data)
        s = await self._own_session(sid, d)
        c = payloads.candidate(d)
        if not s.offered:
            # Trickled before the offer: held until the offer goes out.
            if not await self.hub.store.hold_candidate(s.id, c, MAX_PENDING_ICE):
                raise PortholeError(errors.BAD_REQUEST, "too many candidates before the offer")
            return {"ok": True}
        await self.hub.to_agent("webrtc:ice", {"session_id": s.id, "candidate": c}, s.agent_sid)
        return {"ok": True}

    async def disconnect_session(self, sid: str, data: Any) -> dict[str, Any]:
        d = payloads.obj(data)
        s = await self._own_session(sid, d)
        # The shape is checked, then the reason mapped onto the client's fixed set: a client
        # cannot make the device's audit say `idle_timeout` about its own close.
        why = wire.client_reason(payloads.reason(d, wire.USER_CLOSED))
        await self.hub.end_session(s, "client", agent=("webrtc:disconnect", {"session_id": s.id, "reason": why}))
        return {"ok": True}

    async def resume_token(self, sid: str, data: Any) -> dict[str, Any]:
        """A resume token for one of this client's sessions (resume_ns.py), audited either way."""
        d = payloads.obj(data)
        conn = await self._conn(sid)
        who: dict[str, Any] = {"user": conn.user, "org": conn.org}
        try:
            s = await self._own_session(sid, d)
            who.update(device=s.device_id, target=s.target_id, kind=s.kind)
            user = self.policy.user(conn.user)
            if user is None:
                raise PortholeError(wire.RESUME_DENIED, "unknown user")
            out = resume_ns.issue(self.signing_key, self.policy, user, s, self.hub.config.server.resume_token_ttl_s)
        except PortholeError as e:
            self.hub.events.publish("session.resume_denied", d.get("session_id"), ok=False, code=e.code, **who)
            raise
        self.hub.events.publish("session.resume_token", s.id, **who)
        return out

    async def extend(self, sid: str, data: Any) -> dict[str, Any]:
        """The user asks to stay: relayed to the device, whose answer is the ack (not_extendable, ...)."""
        d = payloads.obj(data)
        s = await self._own_session(sid, d)
        if not s.offered or await self.hub.store.get_agent(s.agent_sid) is None:
            raise PortholeError(errors.SESSION_NOT_FOUND, "the session is not running")
        # Not sio.call(): the server runs with async_handlers=False, where call() is refused. An
        # emit with a callback is fine: the device's ack arrives on its own connection.
        answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_ack(*args: Any) -> None:
            if not answered.done():
                answered.set_result(args[0] if args else None)

        await self.hub.sio.emit(
            "session:extend", {"session_id": s.id}, to=s.agent_sid, namespace=AGENT_NS, callback=on_ack
        )
        try:
            ack = await asyncio.wait_for(answered, EXTEND_TIMEOUT_S)
        except TimeoutError:
            raise PortholeError(errors.DEVICE_OFFLINE, "the device did not answer") from None
        out = payloads.extend_answer(ack)
        log.info("session %s: extended at the request of user=%s", s.id, s.user)
        return out

    # ---------------------------------------------------------------- shared sessions (share_ns.py)

    async def _share_audited(self, sid: str, d: dict[str, Any], what: str, run: Any) -> dict[str, Any]:
        conn = await self._conn(sid)
        who: dict[str, Any] = {"user": conn.user, "org": conn.org, "action": what}
        try:
            return await run(conn, who)
        except PortholeError as e:
            self.hub.events.publish("share.denied", d.get("session_id"), ok=False, code=e.code, **who)
            raise

    async def share_invite(self, sid: str, data: Any) -> dict[str, Any]:
        """An invitation to one of this client's terminal sessions: for a user, or a link."""
        d = payloads.obj(data)

        async def run(conn: ClientConn, who: dict[str, Any]) -> dict[str, Any]:
            name = share_ns.invitee(d)
            who["invitee"] = clean(name) if name else share.LINK
            s = await self._own_session(sid, d)
            who.update(device=s.device_id, target=s.target_id)
            owner = self.policy.user(conn.user)
            if owner is None:
                raise PortholeError(errors.UNAUTHENTICATED, "unknown user")
            out = share_ns.invite(self.signing_key, self.policy, owner, s, name, share.DEFAULT_TTL_S)
            if name is not None:
                await share_ns.tell_invitee(self.hub, s, name, out, owner.name)
            self.hub.events.publish("share.invited", s.id, **who)
            return out

        return await self._share_audited(sid, d, "invite", run)

    async def share_control(self, sid: str, data: Any) -> dict[str, Any]:
        """The owner hands control to a viewer (`to`) or takes it back (`to` null)."""
        d = payloads.obj(data)

        async def run(conn: ClientConn, who: dict[str, Any]) -> dict[str, Any]:
            to = share_ns.control_target(d)
            s = await self._own_session(sid, d)
            who.update(device=s.device_id, target=s.target_id, to_session=to or None)
            ack = await share_ns.ask_device(self.hub, s, "share:control", {"session_id": s.id, "to": to})
            self.hub.events.publish("share.control", s.id, **who)
            return {"ok": True, "controller": ack.get("controller") or None}

        return await self._share_audited(sid, d, "control", run)

    async def share_revoke(self, sid: str, data: Any) -> dict[str, Any]:
        """The owner revokes every invitation to the session not used yet."""
        d = payloads.obj(data)

        async def run(conn: ClientConn, who: dict[str, Any]) -> dict[str, Any]:
            s = await self._own_session(sid, d)
            who.update(device=s.device_id, target=s.target_id)
            await share_ns.ask_device(self.hub, s, "share:revoke", {"session_id": s.id})
            self.hub.events.publish("share.control", s.id, **who)
            return {"ok": True}

        return await self._share_audited(sid, d, "revoke", run)

    async def share_request(self, sid: str, data: Any) -> dict[str, Any]:
        """A viewer asks the owner for control (the owner answers with share:control)."""
        d = payloads.obj(data)
        s = await self._own_session(sid, d)
        owner = await share_ns.owner_session(self.hub, s)
        await self.hub.to_client(
            "share:control_requested",
            {"session_id": owner.id, "viewer_session_id": s.id, "user": s.user},
            owner.client_sid,
        )
        return {"ok": True}
