"""porthole-core's session event stream (WatchEvents), applied to the sessions:
local candidates go to the server, ICE and peer states to the connection and
the bus, an opened `terminal` channel starts the shell, a resize or the end of
a handed-over terminal goes to its shell, a screen's clipboard transfer to the
audit (size only), a closed peer ends the session. The
stream is re-opened whenever it ends (a sidecar restart)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import grpc

from porthole import errors, wire
from porthole.agent.events import EventBus
from porthole.agent.screen import ScreenSession
from porthole.agent.session import Session
from porthole.agent.sessions import Outbox, SessionManager
from porthole.agent.sidecar import Sidecar
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

log = logging.getLogger("porthole.agent")

# Pause before re-opening a stream that ended, so a sidecar that is down is not spun on.
RETRY_S = 0.2
# Peer close reasons that the client also gets as an ice_failed webrtc:error.
_ICE_FAILURES = (errors.ICE_FAILED, wire.PEER_FAILED)
# The `terminal` channel's sub-protocol of the binary fast path.
BINARY_PROTOCOL = "porthole-binary"
# The reason of a close event that carries none (porthole-core always gives one).
NO_REASON = "closed"


class SidecarEvents:
    def __init__(
        self,
        sidecar: Sidecar,
        sessions: SessionManager,
        outbox: Outbox,
        events: EventBus,
        on_closed: Callable[[str, pb.SessionClosed], None] | None = None,
    ) -> None:
        self.on_closed = on_closed  # every SessionClosed, for the diagnosis book (diagnosis.py)
        self.on_files: Callable[[Session], None] | None = None  # a `files` channel opened (filechan.py)
        self.sidecar = sidecar
        self.sessions = sessions
        self.outbox = outbox
        self.events = events
        self.ready = asyncio.Event()  # the first stream is open: no event is missed from here on

    async def run(self) -> None:
        while True:
            try:
                stub = await self.sidecar.wait_ready(float("inf"))
                call = stub.WatchEvents(pb.WatchEventsRequest())
                await call.initial_metadata()
                self.ready.set()
                async for ev in call:
                    await self.apply(ev)
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as e:
                log.warning("sidecar event stream ended: %s", e.code().name)
            except Exception:
                log.exception("sidecar event handling failed")
            await asyncio.sleep(RETRY_S)

    async def apply(self, ev: pb.SessionEvent) -> None:
        sid = ev.session_id
        session = self.sessions.session(sid)
        kind = ev.WhichOneof("event")
        if kind == "closed" and self.on_closed is not None:
            self.on_closed(sid, ev.closed)  # also for a session the agent already ended
        if kind == "local_candidate":
            self.events.publish("session.candidate", sid, side="local", candidate=ev.local_candidate.candidate)
            if session is not None and (not session.conn.created or session.conn.restarting):
                # The answer is not out yet; a browser refuses candidates before it.
                session.conn.local_candidates.append(ev.local_candidate)
                return
            await self.outbox.candidate(sid, ev.local_candidate)
        elif kind == "ice_state" and session:
            session.conn.ice_state = ev.ice_state
            self.events.publish("session.state", sid, ice_state=ev.ice_state)
        elif kind == "peer_state" and session:
            session.conn.peer_state = ev.peer_state
            self.events.publish("session.state", sid, peer_state=ev.peer_state)
            if isinstance(session, ScreenSession):
                session.on_peer_state(ev.peer_state)
        elif kind == "channel_opened" and session:
            if ev.channel_opened.label == "terminal":
                self.sessions.start_terminal(session, binary=ev.channel_opened.protocol == BINARY_PROTOCOL)
            elif ev.channel_opened.label == "files" and self.on_files is not None:
                self.on_files(session)
        elif kind == "clipboard" and isinstance(session, ScreenSession):
            session.on_clipboard(ev.clipboard)
        elif kind == "terminal_resize":
            r = ev.terminal_resize
            await self.sessions.resize(sid, r.cols, r.rows, ev.time_unix_micros / 1e6)
        elif kind == "terminal_ended":
            self.sessions.terminal_ended(sid, ev.terminal_ended.reason, ev.terminal_ended.message)
        elif kind == "closed" and session:
            reason = ev.closed.reason or NO_REASON
            activity = ev.closed.terminal if ev.closed.HasField("terminal") else None
            if activity is not None and session.shell is not None:
                session.shell.apply_activity(activity)
            if self.sessions.lost(sid, reason, ev.closed.terminal_detached):
                return  # the shell waits for a resume (detached.py); nothing ended
            if reason in _ICE_FAILURES:
                await self.outbox.error(sid, PortholeError(errors.ICE_FAILED, ev.closed.message or reason))
            await self.sessions.close(sid, reason, in_sidecar=False, activity=activity)
