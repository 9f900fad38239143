"""ICE restart of a live session (docs/protocol.md §4b): the server relays the
client's restart offer as `webrtc:restart`; porthole-core answers it on the
SAME peer connection (`Sidecar.RestartIce`), so the channel, the shell and
everything on them carry on. The answer goes back as an ordinary
`webrtc:answer`; candidates of either side wait while the restart is being
answered (`Connection.restarting`), then follow it.

A restart that cannot be answered ends nothing: the client gets a
`webrtc:error` with code `restart_failed` (the server relays it without
ending the session) and may try again; the old path may still come back.
"""

from __future__ import annotations

import logging

import grpc
import socketio

from porthole import errors, wire
from porthole.agent.events import EventBus
from porthole.agent.sessions import RPC_TIMEOUT_S, SIDECAR_WAIT_S, SessionManager
from porthole.agent.sidecar import Sidecar
from porthole.agent.signaling import NAMESPACE, Outbox
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

log = logging.getLogger("porthole.agent")

# What the client is told, by porthole-core's refusal (the message says more).
_WHY = {
    grpc.StatusCode.NOT_FOUND: "the session is gone in porthole-core",
    grpc.StatusCode.INVALID_ARGUMENT: "the restart offer was refused",
    grpc.StatusCode.FAILED_PRECONDITION: "the session is closing",
}


def _offer(data: object) -> tuple[str, str]:
    """(session id, offer SDP) of a `webrtc:restart`; raises bad_request."""
    if not isinstance(data, dict):
        raise PortholeError(errors.BAD_REQUEST, "payload must be an object")
    sid, sdp = data.get("session_id"), data.get("sdp")
    if not isinstance(sid, str) or not wire.session_id_ok(sid):
        raise PortholeError(errors.BAD_REQUEST, "session_id missing or malformed")
    if data.get("type") != "offer" or not isinstance(sdp, str) or not sdp:
        raise PortholeError(errors.BAD_REQUEST, "a restart needs an offer (type offer, sdp)")
    if len(sdp.encode()) > wire.MAX_SDP_BYTES:
        raise PortholeError(errors.BAD_REQUEST, f"sdp is larger than {wire.MAX_SDP_BYTES} bytes")
    return sid, sdp


class IceRestarts:
    def __init__(
        self, sio: socketio.AsyncClient, sidecar: Sidecar, sessions: SessionManager, outbox: Outbox, events: EventBus
    ) -> None:
        self.sidecar = sidecar
        self.sessions = sessions
        self.outbox = outbox
        self.events = events
        sio.on("webrtc:restart", self.on_restart, namespace=NAMESPACE)

    async def on_restart(self, data: object) -> None:
        raw = data.get("session_id") if isinstance(data, dict) else None
        try:
            sid, sdp = _offer(data)
        except PortholeError as e:
            await self.outbox.error(raw, e)
            return
        session = self.sessions.session(sid)
        if session is None or not session.conn.created:
            await self._failed(sid, "no such live session")
            return
        conn = session.conn
        if conn.restarting:
            await self._failed(sid, "an ICE restart of this session is being answered")
            return
        conn.restarting = True  # set before any await: candidates after it wait
        try:
            answer = await self._answer(sid, sdp)
            if answer is not None:
                await self.outbox.answer(sid, answer)
                log.info("ICE restart answered", extra={"session_id": sid})
                self.events.publish("session.ice_restarted", sid)
        finally:
            conn.restarting = False
        for c in conn.take_local():  # after the answer, as after the first one
            await self.outbox.candidate(sid, c)
        for c in conn.take_pending():
            await self.sessions.add_candidate(sid, c)

    async def _answer(self, sid: str, sdp: str) -> str | None:
        """porthole-core's answer, or None (the client was told why)."""
        try:
            stub = await self.sidecar.wait_ready(SIDECAR_WAIT_S)
            resp = await stub.RestartIce(pb.RestartIceRequest(session_id=sid, offer_sdp=sdp), timeout=RPC_TIMEOUT_S)
        except grpc.aio.AioRpcError as e:
            log.info("ICE restart refused: %s", e.details(), extra={"session_id": sid})
            await self._failed(sid, _WHY.get(e.code(), "porthole-core could not answer"))
            return None
        except PortholeError as e:
            await self._failed(sid, e.message)
            return None
        return resp.answer_sdp

    async def _failed(self, sid: str, message: str) -> None:
        await self.outbox.error(sid, PortholeError(wire.RESTART_FAILED, message))
