"""The server's session policy at run time (`[policy]`, parsed in policyconfig.py).

`end_sessions_on_login_expiry` ends a socket's live sessions when its login
token expires without `auth:refresh` (reason `login_expired`, to the client and
to the agent). The audit trail is auditing.py's.
"""

from __future__ import annotations

import asyncio
import logging
import time

from porthole import grant, wire
from porthole.server.hub import Hub
from porthole.server.policyconfig import ServerPolicy

log = logging.getLogger("porthole.server.security")

# How often live sockets are checked for an expired login (a session ends at most this late).
EXPIRY_TICK_S = 1.0


async def end_expired_logins(hub: Hub, policy: ServerPolicy) -> None:
    """Ends the sessions of sockets whose login token expired (when the policy says so)."""
    if not policy.end_sessions_on_login_expiry:
        return
    while True:
        await asyncio.sleep(EXPIRY_TICK_S)
        now = time.time()
        for conn in await hub.store.clients():
            # Each node looks after its own sockets (on a shared store the list holds every node's).
            if conn.node != hub.node_id or conn.token_expires_at + grant.LEEWAY_S >= now:
                continue
            for s in await hub.store.sessions_of_client(conn.sid):
                payload = {"session_id": s.id, "reason": wire.LOGIN_EXPIRED}
                log.info("session %s: login of user=%s expired", s.id, conn.user)
                await hub.end_session(
                    s, wire.LOGIN_EXPIRED, client=("webrtc:disconnect", payload), agent=("webrtc:disconnect", payload)
                )
