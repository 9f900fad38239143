"""The Store contract (server/store.py), the same tests on the in-process
MemoryStore and on the RedisStore (a real redis-server): a new store method
gets its contract test here, and both must pass it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from porthole.server.memstore import MemoryStore
from porthole.server.redisstore import RedisStore
from porthole.server.sessions import Session
from porthole.server.store import AgentConn, ClientConn, Store


@pytest.fixture(params=["memory", "redis"])
async def store(request) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    r = RedisStore(request.getfixturevalue("redis_server").url)
    try:
        yield r
    finally:
        await r.close()


def session(sid: str, user: str = "u", client: str = "c1", agent: str = "a1") -> Session:
    return Session(
        id=sid,
        user=user,
        org="o",
        device_id="d",
        target_id="t",
        kind="terminal",
        mode="view",
        client_sid=client,
        agent_sid=agent,
        grant="g",
        cols=80,
        rows=24,
        created_at=0.0,
        offer_deadline=60.0,
    )


async def test_sessions_are_removed_once_and_offered_once(store: Store) -> None:
    await store.add_session(session("s_1"))
    await store.add_session(session("s_2", user="v", client="c2", agent="a2"))
    assert await store.hold_candidate("s_1", {"candidate": "c"}, limit=2)
    assert await store.hold_candidate("s_1", None, limit=2)
    assert not await store.hold_candidate("s_1", {"candidate": "over"}, limit=2)
    assert await store.mark_offered("s_1") == [{"candidate": "c"}, None]
    assert await store.mark_offered("s_1") is None  # a second offer loses
    assert await store.mark_offered("s_nope") is None
    assert [s.id for s in await store.unoffered_before(61.0)] == ["s_2"]
    assert await store.unoffered_before(60.0) == []
    assert (await store.count_sessions(), await store.count_sessions("u"), await store.count_sessions("w")) == (2, 1, 0)
    assert [s.id for s in await store.sessions_of_client("c2")] == ["s_2"]
    assert [s.id for s in await store.sessions_of_agent("a1")] == ["s_1"]
    gone = await store.remove_session("s_1")
    assert gone is not None and gone.offered
    assert await store.remove_session("s_1") is None  # exactly one caller ends a session
    assert await store.get_session("s_1") is None


async def test_what_comes_back_is_a_copy(store: Store) -> None:
    await store.add_session(session("s_1"))
    s = await store.get_session("s_1")
    assert s is not None
    s.offered = True
    s.pending_ice.append(None)
    again = await store.get_session("s_1")
    assert again is not None and not again.offered and again.pending_ice == []
    await store.add_client(ClientConn("c1", "u", "o", 100.0))
    c = await store.get_client("c1")
    assert c is not None
    c.token_expires_at = 0
    client = await store.get_client("c1")
    assert client is not None and client.token_expires_at == 100.0
    await store.set_client_expiry("c1", 200.0)
    assert [x.token_expires_at for x in await store.clients()] == [200.0]
    assert await store.remove_client("c1") is not None and await store.clients() == []


async def sid_for(store: Store, device_id: str) -> str | None:
    conn = await store.agent_for(device_id)
    return conn.sid if conn is not None else None


async def test_a_device_routes_to_its_newest_agent_socket(store: Store) -> None:
    assert await store.add_agent(AgentConn("a1", "edge-1", "o")) is None
    assert await store.add_agent(AgentConn("a2", "edge-1", "o")) == "a1"  # replaced: disconnect a1
    assert await sid_for(store, "edge-1") == "a2"
    # The old socket going away leaves the new route alone.
    assert await store.remove_agent("a1") is not None
    assert not await store.release_device("edge-1", "a1")
    assert await sid_for(store, "edge-1") == "a2"
    targets = [{"id": "t", "name": "t", "kind": "container", "label": "t", "state": ""}]
    assert await store.set_targets("a2", targets)
    assert not await store.set_targets("a2", targets)  # unchanged
    route = await store.agent_for("edge-1")
    assert route is not None and route.targets == targets
    assert [a.sid for a in await store.agents()] == ["a2"]
    await store.remove_agent("a2")
    assert await store.release_device("edge-1", "a2")
    assert await store.agent_for("edge-1") is None


async def test_revoked_tokens_and_attempt_budgets(store: Store) -> None:
    assert not await store.token_revoked("jti-1")
    await store.revoke_token("jti-1", expires_at=2e9)
    assert await store.token_revoked("jti-1") and not await store.token_revoked("jti-2")
    # Two budgets: "a" allows 2 attempts, "b" 3; an attempt spends one of each or none.
    budgets = [("a", 2), ("b", 3)]
    assert await store.reserve_attempt(budgets, 10.0, since=0.0)
    assert await store.reserve_attempt(budgets, 20.0, since=0.0)
    assert not await store.reserve_attempt(budgets, 30.0, since=0.0)  # "a" is spent
    assert await store.reserve_attempt([("b", 3)], 31.0, since=0.0)  # ... and recorded nothing in "b"
    assert not await store.reserve_attempt([("b", 3)], 32.0, since=0.0)
    assert await store.reserve_attempt(budgets, 40.0, since=15.0)  # the attempt at 10 left the window
    await store.release_attempt(["a", "b"], 40.0)  # it succeeded: given back
    assert await store.reserve_attempt([("a", 2)], 41.0, since=15.0)
    await store.clear_attempts("a")
    assert await store.reserve_attempt([("a", 1)], 42.0, since=0.0)


async def test_what_a_session_holds_comes_back_whole(store: Store) -> None:
    s = session("s_1")
    s.exec_options = {"shell": ["/bin/sh"], "env": {"A": "b"}}
    s.created_at, s.offer_deadline = 1764680000.123456, 1764680030.654321
    await store.add_session(s)
    assert await store.get_session("s_1") == s
    await store.add_client(ClientConn("c1", "ü ser", "o", 1764680000.987654, node="n1"))
    assert await store.get_client("c1") == ClientConn("c1", "ü ser", "o", 1764680000.987654, node="n1")
    await store.add_agent(AgentConn("a1", "d", "o", node="n1"))
    assert await store.get_agent("a1") == AgentConn("a1", "d", "o", [], node="n1")
    assert await store.remove_agent("a1") == AgentConn("a1", "d", "o", [], node="n1")
    assert await store.remove_agent("a1") is None  # removed once


async def test_nodes(store: Store) -> None:
    if not store.shared:
        # One node: always alive, nothing to clean up.
        assert await store.node_alive("n1", 10) and await store.dead_nodes() == []
        assert not await store.claim_node("n1")
        return
    assert not await store.node_alive("n1", 10)  # its first beat: nothing was recorded before
    assert await store.node_alive("n1", 10)
    assert not await store.node_alive("n2", 0.05)
    assert await store.dead_nodes() == []
    await asyncio.sleep(0.2)  # n2 stops beating
    assert await store.dead_nodes() == ["n2"]
    assert not await store.claim_node("n1")  # alive: nobody may take it
    assert await store.claim_node("n2")
    assert not await store.claim_node("n2")  # exactly one node cleans up after it
    assert await store.dead_nodes() == []
    assert not await store.node_alive("n2", 10)  # back after being cleaned up: its state is gone
    assert await store.node_alive("n1", 0.05)
    await asyncio.sleep(0.2)  # n1's heartbeat expires (a store down for a while), its state does not
    assert await store.node_alive("n1", 10)


async def test_detach_and_rebind(store: Store) -> None:
    await store.add_session(session("s_1", client="c1", agent="a1"))
    await store.add_session(session("s_2", client="c2", agent="a1"))
    lost = await store.detach_client("c1", 100.0)
    assert [(s.id, s.client_sid, s.client_deadline) for s in lost] == [("s_1", "", 100.0)]
    assert await store.sessions_of_client("c1") == []
    assert await store.rebind_client("s_1", "other-user", "c9") is None  # only its own user
    s = await store.rebind_client("s_1", "u", "c9")
    assert s is not None and (s.client_sid, s.client_deadline) == ("c9", None)
    assert [x.id for x in await store.sessions_of_client("c9")] == ["s_1"]
    assert await store.rebind_client("s_nope", "u", "c9") is None

    lost = await store.detach_agent("a1", 50.0)
    assert sorted((s.id, s.agent_sid, s.agent_deadline) for s in lost) == [("s_1", "", 50.0), ("s_2", "", 50.0)]
    assert await store.rebind_agent("s_1", "other-device", "a2") is None  # only its own device
    s = await store.rebind_agent("s_1", "d", "a2")
    assert s is not None and (s.agent_sid, s.agent_deadline) == ("a2", None)
    # Past a deadline: s_2 (its device never came back); s_1 is bound on both sides.
    assert [x.id for x in await store.detached_before(50.5)] == ["s_2"]
    assert await store.detached_before(50.0) == []


async def test_restore_only_what_was_never_ended(store: Store) -> None:
    assert await store.restore_session(session("s_1"))
    assert not await store.restore_session(session("s_1"))  # no duplicate
    await store.remove_session("s_1")
    await store.mark_ended("s_1", until=2**40)
    assert await store.was_ended("s_1")
    assert not await store.restore_session(session("s_1"))  # ended: never revived
    assert await store.get_session("s_1") is None
    await store.mark_ended("s_2", until=0.0)  # remembered until long ago: forgotten
    assert not await store.was_ended("s_2")
    assert await store.restore_session(session("s_2"))
