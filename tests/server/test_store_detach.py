"""The sessions-survive methods of the Store (detach a lost socket's sessions, bind
them again, restore, remember ended ones: issue 11) on the RedisStore, against a
real redis-server. The in-process store gets them with that work; once it has,
run these on both (the `store` fixture of test_store.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from porthole.server.redisstore import RedisStore

from .test_store import session


@pytest.fixture
async def store(redis_server) -> AsyncIterator[RedisStore]:
    r = RedisStore(redis_server.url)
    try:
        yield r
    finally:
        await r.close()


async def test_a_lost_client_socket_detaches_its_sessions_until_rebound(store: RedisStore) -> None:
    await store.add_session(session("s_1", client="c1"))
    await store.add_session(session("s_2", client="c1"))
    await store.add_session(session("s_3", client="c9"))
    gone = await store.detach_client("c1", 100.0)
    assert [(s.id, s.client_sid) for s in gone] == [("s_1", ""), ("s_2", "")]
    assert await store.sessions_of_client("c1") == []
    assert [s.id for s in await store.detached_before(100.5)] == ["s_1", "s_2"]
    assert await store.detached_before(100.0) == []
    assert await store.rebind_client("s_1", "someone-else", "c2") is None  # another user's
    assert await store.rebind_client("s_nope", "u", "c2") is None
    back = await store.rebind_client("s_1", "u", "c2")
    assert back is not None and back.client_sid == "c2"
    assert [s.id for s in await store.sessions_of_client("c2")] == ["s_1"]
    assert [s.id for s in await store.detached_before(1e9)] == ["s_2"]
    gone2 = await store.remove_session("s_2")
    assert gone2 is not None and gone2.client_sid == ""
    assert await store.detached_before(1e9) == []


async def test_a_lost_agent_socket_detaches_until_its_device_rebinds(store: RedisStore) -> None:
    await store.add_session(session("s_1", agent="a1"))
    assert [s.agent_sid for s in await store.detach_agent("a1", 50.0)] == [""]
    assert await store.sessions_of_agent("a1") == []
    assert await store.rebind_agent("s_1", "another-device", "a2") is None
    back = await store.rebind_agent("s_1", "d", "a2")
    assert back is not None and back.agent_sid == "a2"
    assert await store.detached_before(1e9) == []


async def test_restore_only_what_is_neither_stored_nor_ended(store: RedisStore) -> None:
    s = session("s_1")
    assert await store.restore_session(s)
    assert not await store.restore_session(s)  # stored already
    assert await store.get_session("s_1") == s
    assert not await store.was_ended("s_2")
    await store.mark_ended("s_2", until=2e9)
    assert await store.was_ended("s_2")
    assert not await store.restore_session(session("s_2"))
