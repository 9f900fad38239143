"""Re-announce after a signaling loss (docs/protocol.md §3b): on every new
connection to the server, the agent lists its live sessions (id and the grant
each was opened with) in `agent:sessions`, so that the server routes them to
this socket again, or restores them from their grants after a restart of its
own. A session the server answers `gone` for ended while the device was away
(closed by its client, its client gone past the server's grace): it ends here
too, as `signaling_lost`. Peer connections never depend on the server: a
session whose re-announce fails (no ack) goes on and is re-announced on the
next connection.
"""

from __future__ import annotations

import logging

import socketio

from porthole import wire
from porthole.agent.sessions import SessionManager

log = logging.getLogger("porthole.agent")

# The server answers from its store in milliseconds; past this the connection is lost anyway.
ACK_TIMEOUT_S = 10.0


async def reannounce(sio: socketio.AsyncClient, namespace: str, sessions: SessionManager) -> None:
    live = sessions.reannounceable()
    if not live:
        return
    body = {"sessions": [{"session_id": sid, "grant": token} for sid, token in live]}
    try:
        ack = await sio.call("agent:sessions", body, namespace=namespace, timeout=ACK_TIMEOUT_S)
    except (socketio.exceptions.SocketIOError, TimeoutError) as e:
        log.warning("re-announcing %d sessions failed: %s", len(live), e)
        return
    if not isinstance(ack, dict) or not ack.get("ok") or not isinstance(ack.get("sessions"), list):
        log.warning("re-announcing %d sessions refused: %r", len(live), ack if isinstance(ack, dict) else None)
        return
    for item in ack["sessions"]:
        if not isinstance(item, dict):
            continue
        sid, status = item.get("session_id"), item.get("status")
        if not isinstance(sid, str) or sessions.session(sid) is None:
            continue
        log.info("re-announced: %s (%s)", status, item.get("code") or "ok", extra={"session_id": sid})
        if status == "gone":
            await sessions.close(sid, wire.SIGNALING_LOST, notify=False)
