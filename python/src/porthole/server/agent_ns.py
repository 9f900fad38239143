"""Socket.IO namespace `/agent`: the device side (docs/protocol.md §3).

Which agent socket serves a device is the hub's store's; sessions end through
the hub (session.closed on its bus).
"""

from __future__ import annotations

from typing import Any

import socketio

from porthole import errors, wire
from porthole.errors import PortholeError
from porthole.server import clientaddr, ice, payloads, share_ns
from porthole.server.deviceauth import DeviceAuth
from porthole.server.hub import AGENT_NS, EventNamespace, Hub, log
from porthole.server.rebind import Rebinder
from porthole.server.sessions import Session
from porthole.server.store import AgentConn


class AgentNamespace(EventNamespace):
    def __init__(self, hub: Hub, devices: DeviceAuth, rebinder: Rebinder) -> None:
        super().__init__(AGENT_NS, hub)
        self.devices = devices
        self.rebinder = rebinder
        self.handlers = {
            "agent:inventory": self.inventory,
            "agent:sessions": self.sessions,
            "agent:turn_check": self.turn_check,
            "webrtc:answer": self.answer,
            "webrtc:ice": self.ice,
            "webrtc:error": self.error,
            "webrtc:disconnect": self.disconnect_session,
            "session:warning": self.warning,
            "share:state": self.share_state,
        }

    async def _authenticate(self, auth: Any, environ: dict) -> str:
        device_id, secret = payloads.agent_auth(auth)
        remote = clientaddr.of_environ(environ, self.hub.config.server.trusted_proxies)
        await self.devices.check(device_id, secret, remote, via="socket")
        return device_id

    async def on_connect(self, sid: str, environ: dict, auth: Any) -> None:
        try:
            device_id = await self._authenticate(auth, environ)
        except PortholeError as e:
            log.warning("agent connect %s refused: %s", sid, e.message)
            raise socketio.exceptions.ConnectionRefusedError(e.message, e.to_wire()) from None
        org = self.hub.config.devices[device_id].org
        old = await self.hub.store.add_agent(AgentConn(sid, device_id, org, node=self.hub.node_id))
        log.info("agent %s connected: device=%s", sid, device_id)
        # Its sessions are peer to peer and outlive the old socket: the device re-announces
        # the ones it still has (`agent:sessions`, rebind.py); the rest end after the grace.
        if old is not None and await self.hub.store.get_agent(old) is not None:
            log.info("agent %s replaced by %s: device=%s", old, sid, device_id)
            await self.hub.sio.disconnect(old, namespace=AGENT_NS)
        await self.hub.devices_changed(org)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if not self.hub.keeps_state():
            await self.gone(sid)

    async def gone(self, sid: str) -> None:
        """The agent socket is gone (disconnected, or its node died): the sessions still
        routed through it wait for the device's re-announce (rebind.py), and its device
        goes offline unless it is back elsewhere."""
        conn = await self.hub.store.remove_agent(sid)
        if conn is None:
            return
        log.info("agent %s disconnected: device=%s", sid, conn.device_id)
        await self.rebinder.agent_lost(sid)  # its sessions wait for the device's re-announce (rebind.py)
        if await self.hub.store.release_device(conn.device_id, sid):
            await self.hub.devices_changed(conn.org)

    async def _session(self, sid: str, d: dict[str, Any]) -> Session:
        s = await self.hub.session(payloads.session_id(d))
        if s is None or s.agent_sid != sid or not s.offered:
            raise PortholeError(errors.SESSION_NOT_FOUND, "no such session")
        return s

    async def inventory(self, sid: str, data: Any) -> dict[str, Any]:
        conn = await self.hub.store.get_agent(sid)
        if conn is None:
            raise PortholeError(errors.UNAUTHENTICATED, "not connected")
        targets = payloads.inventory(data)
        if await self.hub.store.set_targets(sid, targets):
            log.info("device %s inventory: %d targets", conn.device_id, len(targets))
            route = await self.hub.store.agent_for(conn.device_id)
            if route is not None and route.sid == sid:
                await self.hub.devices_changed(conn.org)
        return {"ok": True}

    async def sessions(self, sid: str, data: Any) -> dict[str, Any]:
        """The device's live sessions, re-announced on a new socket (rebind.py)."""
        conn = await self.hub.store.get_agent(sid)
        if conn is None:
            raise PortholeError(errors.UNAUTHENTICATED, "not connected")
        items = payloads.agent_sessions(data)
        return {"ok": True, "sessions": await self.rebinder.rebind_agent(conn, items)}

    async def turn_check(self, sid: str, data: Any) -> dict[str, Any]:
        """A short-lived TURN credential for the device's own allocation test (`porthole ctl doctor`)."""
        payloads.obj(data)
        conn = await self.hub.store.get_agent(sid)
        if conn is None:
            raise PortholeError(errors.UNAUTHENTICATED, "not connected")
        servers = ice.doctor_servers(self.hub.config, conn.device_id)
        log.info("device %s: TURN check %s", conn.device_id, "credential minted" if servers else "without TURN")
        return {"ok": True, "ice_servers": servers}

    async def answer(self, sid: str, data: Any) -> dict[str, Any]:
        d = payloads.obj(data)
        s = await self._session(sid, d)
        sdp = payloads.sdp(d, "answer")
        await self.hub.to_client("webrtc:answer", {"session_id": s.id, "type": "answer", "sdp": sdp}, s.client_sid)
        log.info("session %s: answer relayed to user=%s", s.id, s.user)
        return {"ok": True}

    async def ice(self, sid: str, data: Any) -> dict[str, Any]:
        d = payloads.obj(data)
        s = await self._session(sid, d)
        c = payloads.candidate(d)
        await self.hub.to_client("webrtc:ice", {"session_id": s.id, "candidate": c}, s.client_sid)
        return {"ok": True}

    async def error(self, sid: str, data: Any) -> dict[str, Any]:
        d = payloads.obj(data)
        s = await self._session(sid, d)
        code, message = payloads.error(d)
        payload = {"session_id": s.id, "code": code, "message": message}
        if code == wire.RESTART_FAILED:
            # An ICE restart it could not answer: the session goes on (docs/protocol.md §4b).
            await self.hub.to_client("webrtc:error", payload, s.client_sid)
            return {"ok": True}
        await self.hub.end_session(s, f"device error {code}", code=code, client=("webrtc:error", payload))
        return {"ok": True}

    async def disconnect_session(self, sid: str, data: Any) -> dict[str, Any]:
        d = payloads.obj(data)
        s = await self._session(sid, d)
        why = payloads.reason(d, "closed")
        await self.hub.end_session(s, "device", client=("webrtc:disconnect", {"session_id": s.id, "reason": why}))
        return {"ok": True}

    async def warning(self, sid: str, data: Any) -> dict[str, Any]:
        """A policy end is coming (or no longer is): relayed to the session's client as is."""
        d = payloads.obj(data)
        s = await self._session(sid, d)
        w = payloads.warning(d)
        await self.hub.to_client("session:warning", {"session_id": s.id, **w}, s.client_sid)
        return {"ok": True}

    async def share_state(self, sid: str, data: Any) -> dict[str, Any]:
        """Who is in a shared terminal and who has control (the device knows): relayed to each
        participant's client, for sessions this device's socket carries only."""
        d = payloads.obj(data)
        owner, people, controller = share_ns.state_payload(d)
        await self._session(sid, {"session_id": owner})
        for p in people:
            s = await self.hub.session(p["session_id"])
            if s is None or s.agent_sid != sid:
                continue
            payload = {"session_id": s.id, "owner_session_id": owner, "participants": people, "controller": controller}
            await self.hub.to_client("share:state", payload, s.client_sid)
        return {"ok": True}
