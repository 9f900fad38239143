"""The in-process Store: dicts on one event loop, for a single server node.

Everything runs on one event loop and no method awaits inside, so each method
is atomic without locks. What it returns are copies, as a shared store's would
be: a caller that wants a change asks for it by a method.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from porthole.server.sessions import Session
from porthole.server.store import AgentConn, ClientConn, Store

# How many attempt budgets (per user and address, per address, per user) are
# remembered; the oldest is forgotten first, so a flood of made-up names cannot grow memory.
MAX_TRACKED_LOGINS = 10000


class MemoryStore(Store):
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock  # only to forget revoked tokens and ended sessions once past
        self._sessions: dict[str, Session] = {}
        self._clients: dict[str, ClientConn] = {}
        self._agents: dict[str, AgentConn] = {}  # by agent socket id
        self._routes: dict[str, str] = {}  # device id -> agent socket id
        self._revoked: dict[str, float] = {}  # token id -> its expiry
        self._ended: dict[str, float] = {}  # session id -> remembered as ended until
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    # ---------------------------------------------------------------- sessions

    async def add_session(self, session: Session) -> None:
        self._sessions[session.id] = copy.deepcopy(session)

    async def get_session(self, session_id: str) -> Session | None:
        s = self._sessions.get(session_id)
        return copy.deepcopy(s) if s is not None else None

    async def remove_session(self, session_id: str) -> Session | None:
        return self._sessions.pop(session_id, None)

    async def mark_offered(self, session_id: str) -> list[dict[str, Any] | None] | None:
        s = self._sessions.get(session_id)
        if s is None or s.offered:
            return None
        s.offered = True
        held, s.pending_ice = s.pending_ice, []
        return held

    async def hold_candidate(self, session_id: str, candidate: dict[str, Any] | None, limit: int) -> bool:
        s = self._sessions.get(session_id)
        if s is None or len(s.pending_ice) >= limit:
            return False
        s.pending_ice.append(copy.deepcopy(candidate))
        return True

    async def sessions_of_client(self, client_sid: str) -> list[Session]:
        return [copy.deepcopy(s) for s in self._sessions.values() if s.client_sid == client_sid]

    async def sessions_of_agent(self, agent_sid: str) -> list[Session]:
        return [copy.deepcopy(s) for s in self._sessions.values() if s.agent_sid == agent_sid]

    async def count_sessions(self, user: str | None = None) -> int:
        if user is None:
            return len(self._sessions)
        return sum(1 for s in self._sessions.values() if s.user == user)

    async def unoffered_before(self, deadline: float) -> list[Session]:
        return [copy.deepcopy(s) for s in self._sessions.values() if not s.offered and s.offer_deadline < deadline]

    # ---------------------------------------------------------------- signaling losses

    async def detach_client(self, client_sid: str, deadline: float) -> list[Session]:
        out = []
        for s in self._sessions.values():
            if s.client_sid == client_sid:
                s.client_sid, s.client_deadline = "", deadline
                out.append(copy.deepcopy(s))
        return out

    async def detach_agent(self, agent_sid: str, deadline: float) -> list[Session]:
        out = []
        for s in self._sessions.values():
            if s.agent_sid == agent_sid:
                s.agent_sid, s.agent_deadline = "", deadline
                out.append(copy.deepcopy(s))
        return out

    async def rebind_client(self, session_id: str, user: str, client_sid: str) -> Session | None:
        s = self._sessions.get(session_id)
        if s is None or s.user != user:
            return None
        s.client_sid, s.client_deadline = client_sid, None
        return copy.deepcopy(s)

    async def rebind_agent(self, session_id: str, device_id: str, agent_sid: str) -> Session | None:
        s = self._sessions.get(session_id)
        if s is None or s.device_id != device_id:
            return None
        s.agent_sid, s.agent_deadline = agent_sid, None
        return copy.deepcopy(s)

    async def restore_session(self, session: Session) -> bool:
        ended_until = self._ended.get(session.id)
        if session.id in self._sessions or (ended_until is not None and ended_until >= self._clock()):
            return False
        self._sessions[session.id] = copy.deepcopy(session)
        return True

    async def mark_ended(self, session_id: str, until: float) -> None:
        now = self._clock()
        for sid in [k for k, t in self._ended.items() if t < now]:
            del self._ended[sid]  # forgotten once past: the map stays small
        self._ended[session_id] = until

    async def was_ended(self, session_id: str) -> bool:
        until = self._ended.get(session_id)
        return until is not None and until >= self._clock()

    async def detached_before(self, deadline: float) -> list[Session]:
        return [
            copy.deepcopy(s)
            for s in self._sessions.values()
            if (s.client_deadline is not None and s.client_deadline < deadline)
            or (s.agent_deadline is not None and s.agent_deadline < deadline)
        ]

    # ---------------------------------------------------------------- clients

    async def add_client(self, conn: ClientConn) -> None:
        self._clients[conn.sid] = copy.copy(conn)

    async def get_client(self, sid: str) -> ClientConn | None:
        c = self._clients.get(sid)
        return copy.copy(c) if c is not None else None

    async def remove_client(self, sid: str) -> ClientConn | None:
        return self._clients.pop(sid, None)

    async def clients(self) -> list[ClientConn]:
        return [copy.copy(c) for c in self._clients.values()]

    async def set_client_expiry(self, sid: str, expires_at: float) -> None:
        c = self._clients.get(sid)
        if c is not None:
            c.token_expires_at = expires_at

    # ---------------------------------------------------------------- agents and device routes

    async def add_agent(self, conn: AgentConn) -> str | None:
        old = self._routes.get(conn.device_id)
        self._agents[conn.sid] = copy.deepcopy(conn)
        self._routes[conn.device_id] = conn.sid
        return old if old != conn.sid else None

    async def get_agent(self, sid: str) -> AgentConn | None:
        a = self._agents.get(sid)
        return copy.deepcopy(a) if a is not None else None

    async def remove_agent(self, sid: str) -> AgentConn | None:
        return self._agents.pop(sid, None)

    async def release_device(self, device_id: str, sid: str) -> bool:
        if self._routes.get(device_id) != sid:
            return False
        del self._routes[device_id]
        return True

    async def agent_for(self, device_id: str) -> AgentConn | None:
        sid = self._routes.get(device_id)
        a = self._agents.get(sid) if sid is not None else None
        return copy.deepcopy(a) if a is not None else None

    async def set_targets(self, sid: str, targets: list[dict[str, str]]) -> bool:
        a = self._agents.get(sid)
        if a is None or a.targets == targets:
            return False
        a.targets = copy.deepcopy(targets)
        return True

    async def agents(self) -> list[AgentConn]:
        return [copy.deepcopy(a) for a in self._agents.values()]

    async def revoke_token(self, token_id: str, expires_at: float) -> None:
        now = self._clock()
        for tid in [t for t, exp in self._revoked.items() if exp < now]:
            del self._revoked[tid]  # expired anyway: no need to remember
        self._revoked[token_id] = expires_at

    async def token_revoked(self, token_id: str) -> bool:
        return token_id in self._revoked

    # ---------------------------------------------------------------- failed-login counters

    def _recent(self, key: str, since: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and q[0] < since:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    async def reserve_attempt(self, budgets: list[tuple[str, int]], at: float, since: float) -> bool:
        # No await in here: check and record are one step for every other task.
        if any(len(self._recent(k, since)) >= limit for k, limit in budgets):
            return False
        for k, limit in budgets:
            q = self._failures.get(k)
            if q is None or q.maxlen != limit:
                q = self._failures[k] = deque(q or (), maxlen=limit)
            self._failures.move_to_end(k)
            q.append(at)
        while len(self._failures) > MAX_TRACKED_LOGINS:
            self._failures.popitem(last=False)
        return True

    async def release_attempt(self, keys: list[str], at: float) -> None:
        for k in keys:
            q = self._failures.get(k)
            if q is not None:
                with contextlib.suppress(ValueError):
                    q.remove(at)

    async def clear_attempts(self, key: str) -> None:
        self._failures.pop(key, None)
