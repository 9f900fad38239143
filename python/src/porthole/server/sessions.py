"""A signaling session: which client socket and which agent socket it joins.

A session is created by `session:open`, bound to the client socket that opened
it and to the agent socket that was online for the device at that moment. It
ends on `webrtc:disconnect` or `webrtc:error`, while no offer was sent yet when
its grant expires (`grant_expired`), and when either socket has been gone for
longer than the signaling grace (`server.signaling_grace_s`): a lost socket
only unbinds the session (its side becomes "" with a deadline) and the client
or the device re-announces it on its next socket (`session:rebind`,
`agent:sessions`, rebind.py). Sessions live in the server's Store (store.py);
the hub ends them (hub.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

# Candidates a client may trickle before its offer; the server holds them and
# sends them right after the offer (a browser gathers a few dozen at most).
MAX_PENDING_ICE = 64


def new_session_id() -> str:
    return "s_" + secrets.token_urlsafe(16)


@dataclass
class Session:
    id: str
    user: str
    org: str
    device_id: str
    target_id: str
    kind: str
    mode: str
    client_sid: str
    agent_sid: str
    grant: str = field(repr=False)
    cols: int
    rows: int
    created_at: float  # Unix time (a shared store has no shared monotonic clock)
    offer_deadline: float  # Unix time; never offered by then: the session ends
    offered: bool = False
    pending_ice: list[dict[str, Any] | None] = field(default_factory=list, repr=False)
    # shell/user/env the client asked for (server.execopts); passed on in the offer, decided by the agent.
    exec_options: dict[str, Any] = field(default_factory=dict, repr=False)
    # Unix time by which a client must rebind the session (its socket was lost; client_sid is
    # then ""), or None while it is bound. The same for the device's side.
    client_deadline: float | None = None
    agent_deadline: float | None = None
