"""What the two namespaces share: the store, the event bus, emits to either
side, ending a session, and the event dispatch with error acks.

The hub holds no routing state of its own: that is the Store's (store.py).
Every session that leaves the store leaves it through `end_session`, which
publishes `session.closed` on the bus (audit, metrics and recordings listen
there), including sessions never offered within their grant's lifetime
(`grant_expired`), found by `session()` or by the periodic `expire_unoffered`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from porthole import errors, wire
from porthole.errors import PortholeError
from porthole.events import EventBus
from porthole.server.config import Config
from porthole.server.sessions import Session
from porthole.server.store import Store

log = logging.getLogger("porthole.server")

CLIENT_NS = "/client"
AGENT_NS = "/agent"
# How often sessions never offered, and sessions whose lost side did not come back within the
# signaling grace, are looked for; one ends at most this long after its deadline.
EXPIRY_TICK_S = 1.0
# How long an ended session's id is remembered, so that a device re-announcing it after a long
# absence (rebind.py) is told it ended instead of having it restored from its grant.
ENDED_MEMORY_S = 24 * 3600.0


def org_room(org: str) -> str:
    return f"org:{org}"


def fail(e: PortholeError) -> dict[str, Any]:
    return {"ok": False, "error": e.to_wire()}


class Hub:
    def __init__(
        self,
        config: Config,
        sio: socketio.AsyncServer,
        store: Store,
        events: EventBus,
        clock: Callable[[], float] = time.time,
        node_id: str = "",
    ) -> None:
        self.config = config
        self.sio = sio
        self.store = store
        self.events = events
        self.clock = clock
        self.node_id = node_id  # recorded with each socket (nodes.py)
        # Set while this node stops on a shared store: its sockets reconnect to other
        # nodes, so their going away here ends nothing (what is left, nodes.py cleans up).
        self.leaving = False

    def keeps_state(self) -> bool:
        """True when a socket's disconnect must leave the store alone (a draining node of several)."""
        return self.leaving and self.store.shared

    async def to_client(self, event: str, data: dict[str, Any], sid: str) -> None:
        if sid:  # "": the session's client socket was lost and it waits for a rebind
            await self.sio.emit(event, data, to=sid, namespace=CLIENT_NS)

    async def to_agent(self, event: str, data: dict[str, Any], sid: str) -> None:
        if sid:
            await self.sio.emit(event, data, to=sid, namespace=AGENT_NS)

    async def devices_changed(self, org: str) -> None:
        await self.sio.emit("devices:changed", to=org_room(org), namespace=CLIENT_NS)

    async def session(self, session_id: str) -> Session | None:
        """The live session with that id; one never offered past its deadline is ended here."""
        s = await self.store.get_session(session_id)
        if s is not None and not s.offered and s.offer_deadline < self.clock():
            await self.end_session(s, wire.GRANT_EXPIRED)
            return None
        return s

    async def expire_unoffered(self) -> None:
        """Ends every session that was never offered within its grant's lifetime."""
        for s in await self.store.unoffered_before(self.clock()):
            await self.end_session(s, wire.GRANT_EXPIRED)

    async def expire_forever(self, *more: Callable[[], Awaitable[None]]) -> None:
        """Every tick: expire_unoffered, then each of `more` (the rebinder's grace expiry)."""
        while True:
            await asyncio.sleep(EXPIRY_TICK_S)
            for step in (self.expire_unoffered, *more):
                try:
                    await step()
                except Exception:
                    log.exception("ending expired sessions failed")

    def publish_session(self, name: str, s: Session, **fields: Any) -> None:
        """Publishes a session event with who, where and what it is, plus `fields`."""
        self.events.publish(
            name, s.id, user=s.user, org=s.org, device=s.device_id, target=s.target_id, kind=s.kind, **fields
        )

    async def end_session(
        self,
        session: Session,
        why: str,
        *,
        code: str | None = None,
        client: tuple[str, dict[str, Any]] | None = None,
        agent: tuple[str, dict[str, Any]] | None = None,
    ) -> None:
        """Forgets the session and publishes `session.closed` (why: the reason; code: the
        device's error code when it reported one), then sends the given (event, payload)
        to either side."""
        s = await self.store.remove_session(session.id)
        if s is None:
            return
        await self.store.mark_ended(s.id, self.clock() + ENDED_MEMORY_S)
        self.publish_session(
            "session.closed",
            s,
            mode=s.mode,
            reason=why,
            code=code,
            duration_s=round(self.clock() - s.created_at, 3),
            offered=s.offered,
        )
        log.info("session %s ended (%s): user=%s device=%s", s.id, why, s.user, s.device_id)
        if client is not None and await self.store.get_client(s.client_sid) is not None:
            await self.to_client(client[0], client[1], s.client_sid)
        if agent is not None and s.offered and await self.store.get_agent(s.agent_sid) is not None:
            await self.to_agent(agent[0], agent[1], s.agent_sid)


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
        if event == "connect":
            try:
                return await super().trigger_event(event, *args)
            except socketio.exceptions.ConnectionRefusedError:
                raise
            except Exception:
                # A bug, or a shared store that is down: refused with a code, not left hanging.
                log.exception("%s connect of %s failed", self.namespace, args[0] if args else "?")
                e = PortholeError(errors.INTERNAL, "the server cannot take connections now; try again")
                raise socketio.exceptions.ConnectionRefusedError(e.message, e.to_wire()) from None
        if event == "disconnect":
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
