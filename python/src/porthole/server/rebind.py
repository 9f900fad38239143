"""Signaling is not the session: a lost socket unbinds its sessions for a grace
time instead of ending them, and the next socket of the same client (user) or
the same device re-announces them (docs/protocol.md §2c).

- A client socket lost: its sessions keep going with no client socket until
  `server.signaling_grace_s` has passed (then they end as `client_gone`).
  `session:rebind` from any socket of the same user binds them to it again.
- An agent socket lost: the same, on the device side (then `device_offline`).
  `agent:sessions` from the device's next socket binds them to it again.
- The server restarted (its store forgot every session): the device's
  `agent:sessions` carries each session's grant, signed by this server; a
  grant that verifies (signature and device; not its lifetime, which only
  bounds the offer) and that the user's current authorization still allows
  restores the session, waiting for its client's `session:rebind`.

A session ended while one side was away is remembered as ended (the store's
`mark_ended`), so a late re-announce gets `gone` and is never revived. Every
rebind is published as `session.rerouted` (audited).
"""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from porthole import errors, grant, wire
from porthole.errors import PortholeError
from porthole.server.authz import Policy
from porthole.server.hub import Hub, log
from porthole.server.sessions import Session
from porthole.server.store import AgentConn, ClientConn

REBOUND, RESTORED, PENDING, GONE = "rebound", "restored", "pending", "gone"
# Size of a restored session's terminal until its client sends a resize (the shell keeps its own).
RESTORED_COLS, RESTORED_ROWS = 80, 24


class Rebinder:
    def __init__(self, hub: Hub, policy: Policy, public_key: Ed25519PublicKey) -> None:
        self.hub = hub
        self.policy = policy
        self.public_key = public_key

    @property
    def grace_s(self) -> float:
        return float(self.hub.config.server.signaling_grace_s)

    # ---------------------------------------------------------------- losses

    async def client_lost(self, sid: str) -> None:
        """The client socket went away: its sessions wait for a rebind (or end at once, grace 0)."""
        if self.grace_s <= 0:
            for s in await self.hub.store.sessions_of_client(sid):
                payload = {"session_id": s.id, "reason": wire.CLIENT_GONE}
                await self.hub.end_session(s, wire.CLIENT_GONE, agent=("webrtc:disconnect", payload))
            return
        for s in await self.hub.store.detach_client(sid, self.hub.clock() + self.grace_s):
            log.info("session %s: client socket lost; kept %.0f s for a rebind", s.id, self.grace_s)

    async def agent_lost(self, sid: str) -> None:
        if self.grace_s <= 0:
            for s in await self.hub.store.sessions_of_agent(sid):
                payload = {"session_id": s.id, "code": errors.DEVICE_OFFLINE, "message": "the device went offline"}
                await self.hub.end_session(s, errors.DEVICE_OFFLINE, client=("webrtc:error", payload))
            return
        for s in await self.hub.store.detach_agent(sid, self.hub.clock() + self.grace_s):
            log.info("session %s: device socket lost; kept %.0f s for a rebind", s.id, self.grace_s)

    async def expire(self) -> None:
        """Ends the sessions whose lost side did not come back within the grace."""
        now = self.hub.clock()
        for s in await self.hub.store.detached_before(now):
            if s.client_deadline is not None and s.client_deadline < now:
                payload = {"session_id": s.id, "reason": wire.CLIENT_GONE}
                await self.hub.end_session(s, wire.CLIENT_GONE, agent=("webrtc:disconnect", payload))
            else:
                payload = {"session_id": s.id, "code": errors.DEVICE_OFFLINE, "message": "the device went offline"}
                await self.hub.end_session(s, errors.DEVICE_OFFLINE, client=("webrtc:error", payload))

    # ---------------------------------------------------------------- re-announces

    async def rebind_client(self, conn: ClientConn, ids: list[str]) -> list[dict[str, Any]]:
        out = []
        for sid in ids:
            before = await self.hub.store.get_session(sid)
            s = await self.hub.store.rebind_client(sid, conn.user, conn.sid)
            if s is not None:
                self._rerouted(s, "client", before.client_sid if before else "", restored=False)
                out.append({"session_id": sid, "status": REBOUND})
            elif before is not None or await self.hub.store.was_ended(sid):
                out.append({"session_id": sid, "status": GONE, "code": errors.SESSION_NOT_FOUND})
            else:
                # Not known (yet): after a server restart the device re-announces it first.
                out.append({"session_id": sid, "status": PENDING})
        return out

    async def rebind_agent(self, conn: AgentConn, items: list[tuple[str, str]]) -> list[dict[str, Any]]:
        out = []
        for sid, signed in items:
            try:
                status = await self._rebind_agent_one(conn, sid, signed)
                out.append({"session_id": sid, "status": status})
            except PortholeError as e:
                log.info("session %s: device %s re-announced it: %s", sid, conn.device_id, e.code)
                out.append({"session_id": sid, "status": GONE, "code": e.code})
        return out

    async def _rebind_agent_one(self, conn: AgentConn, sid: str, signed: str) -> str:
        before = await self.hub.store.get_session(sid)
        s = await self.hub.store.rebind_agent(sid, conn.device_id, conn.sid)
        if s is not None:
            self._rerouted(s, "agent", before.agent_sid if before else "", restored=False)
            return REBOUND
        if before is not None or await self.hub.store.was_ended(sid):
            raise PortholeError(errors.SESSION_NOT_FOUND, "the session ended")
        g = grant.verify(signed, self.public_key, device_id=conn.device_id, check_expiry=False)
        if g.session_id != sid:
            raise PortholeError(errors.GRANT_INVALID, "the grant is for another session")
        user = self.policy.user(g.user)
        if user is None or user.org != g.org:
            raise PortholeError(errors.DENIED, "the session's user no longer exists")
        mode = self.policy.authorize(user, g.device_id, g.target_id, g.kind, g.mode)
        now = self.hub.clock()
        restored = Session(
            id=sid,
            user=g.user,
            org=g.org,
            device_id=g.device_id,
            target_id=g.target_id,
            kind=g.kind,
            mode=mode,
            client_sid="",
            agent_sid=conn.sid,
            grant=signed,
            cols=RESTORED_COLS,
            rows=RESTORED_ROWS,
            created_at=float(g.issued_at),
            offer_deadline=float(g.expires_at),
            offered=True,
            client_deadline=now + max(self.grace_s, 1.0),
        )
        if not await self.hub.store.restore_session(restored):
            # Another re-announce of the same id won the race (or it just ended).
            s = await self.hub.store.rebind_agent(sid, conn.device_id, conn.sid)
            if s is None:
                raise PortholeError(errors.SESSION_NOT_FOUND, "the session ended")
            return REBOUND
        self._rerouted(restored, "agent", "", restored=True)
        return RESTORED

    def _rerouted(self, s: Session, side: str, previous_sid: str, *, restored: bool) -> None:
        log.info("session %s re-routed: %s side on a new socket (restored=%s)", s.id, side, restored)
        self.hub.publish_session(
            "session.rerouted",
            s,
            side=side,
            restored=restored,
            was_detached=previous_sid == "",
        )
