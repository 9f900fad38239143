"""The server's routing state, behind one interface: sessions, which agent
socket serves a device, connected clients and their login expiry, revoked
login tokens, and the failed-login counters.

Handlers never hold this state themselves; they ask a Store. `MemoryStore`
(memstore.py) keeps it in this process, which is all one node needs. Every
method is async and takes and returns plain values, so that a store shared by
several nodes (Redis) can implement it: nothing returned is a live view, and a
change is made by a method, never by editing what was returned. Methods that
decide a race (`remove_session`, `mark_offered`, `release_device`) do so
atomically: exactly one caller wins.

A shared store (`shared = True`; redisstore.py) also knows which node holds
each socket (`node` of ClientConn and AgentConn) and which nodes are alive
(`node_alive`, `dead_nodes`, `claim_node`): a node that dies leaves its
sockets behind, and a live node cleans them up (nodes.py). A new method goes
here, in memstore.py and in redisstore.py, and into the contract tests that
run against both (tests/server/test_store.py).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from porthole.server.sessions import Session


@dataclass
class ClientConn:
    sid: str
    user: str
    org: str
    token_expires_at: float
    node: str = ""  # the server node the socket is connected to


@dataclass
class AgentConn:
    sid: str
    device_id: str
    org: str
    targets: list[dict[str, str]] = field(default_factory=list)
    node: str = ""  # the server node the socket is connected to


class Store(ABC):
    # True when several nodes share it: a node's stop leaves its sockets' state to the
    # other nodes (the devices and browsers reconnect there) instead of ending sessions.
    shared: bool = False

    async def close(self) -> None:  # noqa: B027 - most stores hold nothing to release
        """Releases connections (a shared store's); the in-process store has none."""

    # ---------------------------------------------------------------- sessions

    @abstractmethod
    async def add_session(self, session: Session) -> None: ...

    @abstractmethod
    async def get_session(self, session_id: str) -> Session | None: ...

    @abstractmethod
    async def remove_session(self, session_id: str) -> Session | None:
        """Forgets the session; returns it to the one caller that removed it, None to the others."""

    @abstractmethod
    async def mark_offered(self, session_id: str) -> list[dict[str, Any] | None] | None:
        """Marks the session offered and hands over its held candidates; None when it
        is gone or was offered already."""

    @abstractmethod
    async def hold_candidate(self, session_id: str, candidate: dict[str, Any] | None, limit: int) -> bool:
        """Keeps a candidate trickled before the offer; False when `limit` are held already."""

    @abstractmethod
    async def sessions_of_client(self, client_sid: str) -> list[Session]: ...

    @abstractmethod
    async def sessions_of_agent(self, agent_sid: str) -> list[Session]: ...

    @abstractmethod
    async def count_sessions(self, user: str | None = None) -> int:
        """Sessions in the store (of one user when given)."""

    @abstractmethod
    async def unoffered_before(self, deadline: float) -> list[Session]:
        """Sessions never offered whose offer deadline is earlier than `deadline`."""

    # ---------------------------------------------------------------- signaling losses (rebind.py)

    @abstractmethod
    async def detach_client(self, client_sid: str, deadline: float) -> list[Session]:
        """The client socket is gone: each of its sessions gets client_sid "" and
        client_deadline = `deadline` (Unix time); returns them (as changed)."""

    @abstractmethod
    async def detach_agent(self, agent_sid: str, deadline: float) -> list[Session]:
        """The agent socket is gone: each of its sessions gets agent_sid "" and
        agent_deadline = `deadline`; returns them (as changed)."""

    @abstractmethod
    async def rebind_client(self, session_id: str, user: str, client_sid: str) -> Session | None:
        """Atomically: when the session exists and its user is `user`, sets its client_sid
        to `client_sid` and client_deadline to None and returns it (as changed); None when
        it does not exist or is another user's."""

    @abstractmethod
    async def rebind_agent(self, session_id: str, device_id: str, agent_sid: str) -> Session | None:
        """Atomically: when the session exists and is on device `device_id`, sets its
        agent_sid to `agent_sid` and agent_deadline to None and returns it; else None."""

    @abstractmethod
    async def restore_session(self, session: Session) -> bool:
        """Atomically: adds the session when no session with its id is stored and the id
        was not marked ended (`mark_ended`); True when it was added."""

    @abstractmethod
    async def mark_ended(self, session_id: str, until: float) -> None:
        """Remembers that the session ended, until `until` (Unix time), so that a device
        re-announcing it later is told it is gone instead of having it restored."""

    @abstractmethod
    async def was_ended(self, session_id: str) -> bool:
        """True while the id is remembered as ended (`mark_ended`)."""

    @abstractmethod
    async def detached_before(self, deadline: float) -> list[Session]:
        """Sessions whose client_deadline or agent_deadline is earlier than `deadline`."""

    # ---------------------------------------------------------------- clients

    @abstractmethod
    async def add_client(self, conn: ClientConn) -> None: ...

    @abstractmethod
    async def get_client(self, sid: str) -> ClientConn | None: ...

    @abstractmethod
    async def remove_client(self, sid: str) -> ClientConn | None: ...

    @abstractmethod
    async def clients(self) -> list[ClientConn]: ...

    @abstractmethod
    async def set_client_expiry(self, sid: str, expires_at: float) -> None:
        """A fresh login (`auth:refresh`) moves the socket's login expiry."""

    # ---------------------------------------------------------------- agents and device routes

    @abstractmethod
    async def add_agent(self, conn: AgentConn) -> str | None:
        """Records the agent socket and routes its device to it; returns the socket the
        device was routed to before (to be disconnected), if any."""

    @abstractmethod
    async def get_agent(self, sid: str) -> AgentConn | None: ...

    @abstractmethod
    async def remove_agent(self, sid: str) -> AgentConn | None:
        """Forgets the agent socket (its device route is left to `release_device`)."""

    @abstractmethod
    async def release_device(self, device_id: str, sid: str) -> bool:
        """Drops the device's route if it still points at `sid`; True when it did."""

    @abstractmethod
    async def agent_for(self, device_id: str) -> AgentConn | None:
        """The agent socket the device is routed to, or None when it is offline."""

    @abstractmethod
    async def set_targets(self, sid: str, targets: list[dict[str, str]]) -> bool:
        """Stores the agent's inventory; True when it changed."""

    @abstractmethod
    async def agents(self) -> list[AgentConn]: ...

    # ---------------------------------------------------------------- login tokens

    @abstractmethod
    async def revoke_token(self, token_id: str, expires_at: float) -> None:
        """Refuses the login token with this id (`jti`) until it expires anyway."""

    @abstractmethod
    async def token_revoked(self, token_id: str) -> bool: ...

    # ---------------------------------------------------------------- attempt budgets (limiter.py)

    @abstractmethod
    async def reserve_attempt(self, budgets: list[tuple[str, int]], at: float, since: float) -> bool:
        """Atomically: when every key has had fewer than its limit of attempts since `since`,
        records one at `at` under each and returns True; otherwise records nothing, False."""

    @abstractmethod
    async def release_attempt(self, keys: list[str], at: float) -> None:
        """Forgets the attempt recorded at `at` under these keys (it succeeded)."""

    @abstractmethod
    async def clear_attempts(self, key: str) -> None:
        """Forgets every attempt under key."""

    # ---------------------------------------------------------------- nodes (a shared store's; nodes.py)

    async def node_alive(self, node: str, ttl_s: float) -> bool:
        """The node's heartbeat: alive for ttl_s more. False when the store no longer
        knows the node's state is recorded (its first beat; the store lost its data; the
        node was taken for dead and cleaned up): what it recorded may be gone. A heartbeat
        that merely expired (a store down for a while) is not that. One node: always True."""
        return True

    async def dead_nodes(self) -> list[str]:
        """Nodes that stopped beating and were not cleaned up yet."""
        return []

    async def claim_node(self, node: str) -> bool:
        """Takes a dead node's cleanup; True for exactly one caller."""
        return False
