"""The Socket.IO signaling of the `/agent` namespace (docs/protocol.md): the
handlers of what the server sends (`webrtc:offer`, `webrtc:ice`,
`webrtc:disconnect`) and the Outbox of what the agent sends back
(`webrtc:answer`, `webrtc:ice`, `webrtc:error`, `webrtc:disconnect`,
`agent:inventory`). Every payload is checked against the limits of
porthole/wire.py. The connection itself (connect, backoff, reconnect) is
uplink.py's.
"""

from __future__ import annotations

import logging
import time

import socketio

from porthole import errors, wire
from porthole.agent import auditing
from porthole.agent.admission import Admission
from porthole.agent.connection import MAX_PENDING_CANDIDATES
from porthole.agent.events import EventBus
from porthole.agent.sessions import SessionManager
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

log = logging.getLogger("porthole.agent")

NAMESPACE = "/agent"
# Ids with early candidates but no offer yet; bounded so a flood of junk ids cannot grow memory.
MAX_PENDING_IDS = 256
# Early candidates of an id whose offer never came are dropped after this long.
PENDING_TTL_S = 30.0
# The reason of a webrtc:disconnect from the server that is missing or not a short string.
FALLBACK_REASON = wire.CLIENT_GONE


def candidate_from_wire(c: object) -> pb.IceCandidate:
    """RTCIceCandidateInit (or null = end of candidates) → proto; raises bad_request."""
    if c is None:
        return pb.IceCandidate(candidate="", sdp_mid="", sdp_mline_index=-1)
    if not isinstance(c, dict):
        raise PortholeError(errors.BAD_REQUEST, "candidate must be an object or null")
    cand, mid, idx = c.get("candidate", ""), c.get("sdpMid"), c.get("sdpMLineIndex")
    if not isinstance(cand, str) or len(cand) > wire.MAX_CANDIDATE_LEN:
        raise PortholeError(
            errors.BAD_REQUEST, f"candidate.candidate must be a string of at most {wire.MAX_CANDIDATE_LEN} characters"
        )
    if mid is not None and (not isinstance(mid, str) or len(mid) > wire.MAX_MID_LEN):
        raise PortholeError(errors.BAD_REQUEST, "candidate.sdpMid must be a short string")
    if idx is not None and not wire.mline_index_ok(idx):
        raise PortholeError(errors.BAD_REQUEST, f"candidate.sdpMLineIndex must be an integer 0..{wire.MAX_MLINE_INDEX}")
    return pb.IceCandidate(candidate=cand, sdp_mid=mid or "", sdp_mline_index=-1 if idx is None else idx)


def candidate_to_wire(c: pb.IceCandidate) -> dict | None:
    if not c.candidate:
        return None
    return {
        "candidate": c.candidate,
        "sdpMid": c.sdp_mid or None,
        "sdpMLineIndex": c.sdp_mline_index if c.sdp_mline_index >= 0 else None,
    }


class Outbox:
    """What the agent sends on `/agent` (sessions.Outbox, plus the inventory)."""

    def __init__(self, sio: socketio.AsyncClient) -> None:
        self.sio = sio

    async def emit(self, event: str, data: dict) -> None:
        try:
            await self.sio.emit(event, data, namespace=NAMESPACE)
        except socketio.exceptions.SocketIOError as e:
            log.warning("could not send %s: %s", event, e)

    async def answer(self, session_id: str, sdp: str) -> None:
        await self.emit("webrtc:answer", {"session_id": session_id, "type": "answer", "sdp": sdp})

    async def candidate(self, session_id: str, cand: pb.IceCandidate) -> None:
        await self.emit("webrtc:ice", {"session_id": session_id, "candidate": candidate_to_wire(cand)})

    async def error(self, session_id: object, e: PortholeError) -> None:
        sid = session_id if wire.session_id_ok(session_id) else None
        await self.emit("webrtc:error", {"session_id": sid, **e.to_wire()})

    async def disconnect(self, session_id: str, reason: str) -> None:
        await self.emit("webrtc:disconnect", {"session_id": session_id, "reason": reason})

    async def inventory(self, targets: list[dict]) -> None:
        await self.emit("agent:inventory", {"targets": targets})


class Signaling:
    """The handlers of `/agent` events from the server."""

    def __init__(
        self,
        sio: socketio.AsyncClient,
        outbox: Outbox,
        admission: Admission,
        sessions: SessionManager,
        events: EventBus,
        *,
        device_id: str,
        public_key,
    ) -> None:
        self.outbox = outbox
        self.admission = admission
        self.sessions = sessions
        self.events = events
        self.device_id = device_id
        self.public_key = public_key
        self._early: dict[str, tuple[float, list[pb.IceCandidate]]] = {}
        for event, handler in {
            "webrtc:offer": self.on_offer,
            "webrtc:ice": self.on_ice,
            "webrtc:disconnect": self.on_disconnect,
        }.items():
            sio.on(event, handler, namespace=NAMESPACE)

    async def on_offer(self, data: object) -> None:
        sid = data.get("session_id") if isinstance(data, dict) else None
        try:
            adm = await self.admission.check(data)
            await self.sessions.open(adm, self._take_early)
        except PortholeError as e:
            log.info("offer refused: %s", e.code, extra={"session_id": sid})
            self.events.publish(
                "session.denied",
                sid if isinstance(sid, str) else None,
                ok=False,
                device=self.device_id,
                code=e.code,
                reason=e.message,
                **auditing.identity(data, self.public_key, self.device_id),
            )
            await self.outbox.error(sid, e)

    async def on_ice(self, data: object) -> None:
        raw_sid = data.get("session_id") if isinstance(data, dict) else None
        try:
            if not isinstance(data, dict) or not isinstance(raw_sid, str) or not wire.session_id_ok(raw_sid):
                raise PortholeError(errors.BAD_REQUEST, "session_id missing or malformed")
            cand = candidate_from_wire(data.get("candidate"))
        except PortholeError as e:
            await self.outbox.error(raw_sid, e)
            return
        sid: str = raw_sid
        session = self.sessions.session(sid)
        self.events.publish("session.candidate", sid, side="remote", candidate=cand.candidate)
        if session is not None and session.conn.created and not session.conn.restarting:
            await self.sessions.add_candidate(sid, cand)
        elif session is not None:
            session.conn.hold_remote(cand)
        else:
            self._queue_early(sid, cand)

    async def on_disconnect(self, data: object) -> None:
        sid = data.get("session_id") if isinstance(data, dict) else None
        reason = data.get("reason") if isinstance(data, dict) else None
        if isinstance(sid, str) and self.sessions.session(sid) is not None:
            # Only reasons of the fixed set reach the audit (a server or client cannot write it).
            known = isinstance(reason, str) and reason in wire.DISCONNECT_REASONS
            await self.sessions.close(
                sid, reason if known and isinstance(reason, str) else FALLBACK_REASON, notify=False
            )

    def _queue_early(self, sid: str, cand: pb.IceCandidate) -> None:
        now = time.monotonic()
        for k in [k for k, (t, _) in self._early.items() if now - t > PENDING_TTL_S]:
            del self._early[k]
        if sid not in self._early and len(self._early) >= MAX_PENDING_IDS:
            return
        _, queue = self._early.setdefault(sid, (now, []))
        if len(queue) < MAX_PENDING_CANDIDATES:
            queue.append(cand)

    def _take_early(self, sid: str) -> list[pb.IceCandidate]:
        return self._early.pop(sid, (0.0, []))[1]
