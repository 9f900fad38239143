"""The session registry: which client socket and which agent socket a session joins.

A session is created by `session:open`, bound to the client socket that opened
it and to the agent socket that was online for the device at that moment. It
ends on `webrtc:disconnect` or `webrtc:error`, when either socket goes away, or,
while no offer was sent yet, when its grant would have expired.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Callable

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
    created_at: float
    offer_deadline: float
    offered: bool = False
    pending_ice: list[dict[str, Any] | None] = field(default_factory=list, repr=False)
    # shell/user/env the client asked for (server.execopts); passed on in the offer, decided by the agent.
    exec_options: dict[str, Any] = field(default_factory=dict, repr=False)


class Registry:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        self.expire()
        return len(self._sessions)

    def now(self) -> float:
        return self._clock()

    def add(self, session: Session) -> None:
        self._sessions[session.id] = session

    def expire(self) -> list[Session]:
        """Drops sessions that were never offered within their grant's lifetime."""
        now = self._clock()
        gone = [s for s in self._sessions.values() if not s.offered and s.offer_deadline < now]
        for s in gone:
            del self._sessions[s.id]
        return gone

    def get(self, session_id: object) -> Session | None:
        if not isinstance(session_id, str):
            return None
        s = self._sessions.get(session_id)
        if s is not None and not s.offered and s.offer_deadline < self._clock():
            del self._sessions[s.id]
            return None
        return s

    def remove(self, session_id: str) -> Session | None:
        return self._sessions.pop(session_id, None)

    def count_for_user(self, user: str) -> int:
        self.expire()
        return sum(1 for s in self._sessions.values() if s.user == user)

    def for_client(self, client_sid: str) -> list[Session]:
        return [s for s in self._sessions.values() if s.client_sid == client_sid]

    def for_agent(self, agent_sid: str) -> list[Session]:
        return [s for s in self._sessions.values() if s.agent_sid == agent_sid]
