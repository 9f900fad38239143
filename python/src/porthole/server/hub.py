"""Signaling state shared by the two namespaces, and their common event plumbing.

The hub knows which clients and agents are connected, each device's inventory,
and the sessions between them; it ends sessions and tells the other side.
Everything runs on one event loop, so no locks: no method awaits between
reading and changing the state it guards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

import socketio

from porthole import errors
from porthole.errors import PortholeError
from porthole.server.config import Config
from porthole.server.sessions import Registry, Session

log = logging.getLogger("porthole.server")

CLIENT_NS = "/client"
AGENT_NS = "/agent"


def org_room(org: str) -> str:
    return f"org:{org}"


def fail(e: PortholeError) -> dict[str, Any]:
    return {"ok": False, "error": e.to_wire()}


@dataclass
class ClientConn:
    sid: str
    user: str
    org: str
    token_expires_at: float


@dataclass
class AgentConn:
    sid: str
    device_id: str
    org: str
    targets: list[dict[str, str]] = field(default_factory=list)


class Hub:
    def __init__(self, config: Config, sio: socketio.AsyncServer) -> None:
        self.config = config
        self.sio = sio
        self.sessions = Registry()
        self.clients: dict[str, ClientConn] = {}
        self.agents: dict[str, AgentConn] = {}  # by agent socket id
        self.online: dict[str, str] = {}  # device id -> agent socket id
        # Called as hook(session, why, monotonic now) when a session leaves the registry (the audit).
        self.on_session_end: list[Callable[[Session, str, float], None]] = []

    def agent_for(self, device_id: str) -> AgentConn | None:
        sid = self.online.get(device_id)
        return self.agents.get(sid) if sid is not None else None

    async def to_client(self, event: str, data: dict[str, Any], sid: str) -> None:
        await self.sio.emit(event, data, to=sid, namespace=CLIENT_NS)

    async def to_agent(self, event: str, data: dict[str, Any], sid: str) -> None:
        await self.sio.emit(event, data, to=sid, namespace=AGENT_NS)

    async def devices_changed(self, org: str) -> None:
        await self.sio.emit("devices:changed", to=org_room(org), namespace=CLIENT_NS)

    async def end_session(
        self,
        session: Session,
        why: str,
        *,
        client: tuple[str, dict[str, Any]] | None = None,
        agent: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """Forgets the session, then sends the given (event, payload) to either side."""
        if self.sessions.remove(session.id) is None:
            return
        for hook in self.on_session_end:
            hook(session, why, self.sessions.now())
        log.info(
            "session %s ended (%s): user=%s device=%s", session.id, why, session.user, session.device_id
        )
        if client is not None and session.client_sid in self.clients:
            await self.to_client(client[0], client[1], session.client_sid)
        if agent is not None and session.offered and session.agent_sid in self.agents:
            await self.to_agent(agent[0], agent[1], session.agent_sid)


Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]


class EventNamespace(socketio.AsyncNamespace):
    """Dispatches `area:verb` events to handlers and turns every error into an ack.

    Handlers take (sid, payload) and return the ack dict. A payload that is not
    exactly one argument, an unknown event, a PortholeError or a bug all become
    `{"ok": false, "error": {...}}`; the connection and the server go on.
    """

    def __init__(self, namespace: str, hub: Hub) -> None:
        super().__init__(namespace)
        self.hub = hub
        self.handlers: dict[str, Handler] = {}

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in ("connect", "disconnect"):
            return await super().trigger_event(event, *args)
        sid, payload = args[0], args[1:]
        handler = self.handlers.get(event)
        try:
            if handler is None:
                raise PortholeError(errors.BAD_REQUEST, "unknown event")
            if len(payload) > 1:
                raise PortholeError(errors.BAD_REQUEST, "expected a single payload object")
            return await handler(sid, payload[0] if payload else None)
        except PortholeError as e:
            log.warning("%s %r from %s refused: %s", self.namespace, event[:64], sid, e.code)
            return fail(e)
        except Exception:
            log.exception("%s %r from %s failed", self.namespace, event[:64], sid)
            return fail(PortholeError(errors.INTERNAL, "internal error; see the server log"))
