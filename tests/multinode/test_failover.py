"""Nodes come and go under a live terminal, with real processes: a redis-server,
two `porthole server` nodes, the real agent (and porthole-core) given both
URLs, and an aiortc client (a WebRTC stack we did not write) logged in and
connected on node 2 while the device is on node 1.

- node 1 SIGKILLed: the agent moves to node 2, the terminal echoes throughout
  (its bytes go peer to peer), the session is on node 2 once, and node 2
  cleans up after node 1 without ending it;
- node 1 stopped as a deploy does (SIGTERM): it drains, and the agent is on
  node 2 at once, although its backoff would make it wait 10 s or more.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from porthole.server import nodes as nodes_mod
from tests.support import product_client
from tests.support.redisserver import RedisServer
from tests.support.waiting import async_wait_for

from .cluster import Cluster, sigterm, start_cluster

# A SIGKILLed node's heartbeat expires, then the next sweep of a live node (plus a loaded machine).
CLEANUP_WITHIN_S = nodes_mod.NODE_TTL_S + 2 * nodes_mod.HEARTBEAT_S + 10
TICK_S = 0.2


@pytest.fixture
async def fast(tmp_path, redis_server: RedisServer) -> AsyncIterator[Cluster]:
    c = await start_cluster(tmp_path, redis_server, reconnect_delay_s=0.3, reconnect_max_s=1.0)
    yield c
    await c.stop()


@pytest.fixture
async def slow(tmp_path, redis_server: RedisServer) -> AsyncIterator[Cluster]:
    # A backoff of 10..20 s: only the drain (server:draining) brings the agent back sooner.
    c = await start_cluster(tmp_path, redis_server, reconnect_delay_s=20.0, reconnect_max_s=20.0)
    yield c
    await c.stop()


async def terminal_on_node_2(c: Cluster, target: str) -> product_client.ProductSession:
    token = await product_client.login(c.nodes[1].url, c.dc.username, c.dc.password)
    s = await product_client.open_terminal(c.nodes[1].url, token, c.dc.device_id, target)
    s.client.type("echo before-$((6*7))\r")
    await s.client.wait_output("before-42")
    return s


class Ticker:
    """Types `echo tick-N` every TICK_S; at the end every tick must have come back."""

    def __init__(self, s: product_client.ProductSession) -> None:
        self.s = s
        self.n = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            self.s.client.type(f"echo tick-$((1000+{self.n}))\r")
            self.n += 1
            await asyncio.sleep(TICK_S)

    async def stop_and_check(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self.s.client.wait_output(f"tick-{1000 + self.n - 1}")
        out = self.s.client.text()
        missing = [i for i in range(self.n) if f"tick-{1000 + i}" not in out]
        assert not missing, f"ticks lost: {missing}"
        assert self.n >= 10


async def test_node_1_killed_mid_session(fast: Cluster, make_container) -> None:
    c = fast
    s = await terminal_on_node_2(c, make_container().name)
    try:
        assert c.nodes[1].metric("porthole_server_sessions_open") == 1
        ticker = Ticker(s)
        await asyncio.sleep(5 * TICK_S)
        since = len(c.agent_text())
        c.nodes[0].kill()
        await c.wait_agent_on(1, since=since)
        await asyncio.sleep(5 * TICK_S)
        await ticker.stop_and_check()  # echoed throughout: before, during and after the move

        # Node 2 finds node 1 dead and cleans up after it; the session, routed through the
        # device's new socket, is left alone.
        await async_wait_for(
            lambda: "stopped beating: cleaning up" in c.nodes[1].log(), CLEANUP_WITHIN_S, message="node 2's cleanup"
        )
        assert c.nodes[1].metric("porthole_server_sessions_open") == 1  # once: no duplicate, none lost
        assert c.nodes[1].metric("porthole_server_agents_connected") == 1
        assert s.errors.empty()  # no webrtc:error (device_offline) reached the client
        s.client.type("echo after-cleanup-$((6*7))\r")
        await s.client.wait_output("after-cleanup-42")

        # Signaling of the session goes through node 2 to the device: the client's close ends it there.
        ack = await s.sio.call("webrtc:disconnect", {"session_id": s.id, "reason": "user_closed"}, namespace="/client")
        assert ack == {"ok": True}, ack
        await asyncio.wait_for(s.client.closed.wait(), 15)
        assert c.nodes[1].metric("porthole_server_sessions_open") == 0
    finally:
        await s.close()


async def test_node_1_stopped_drains_to_node_2(slow: Cluster, make_container) -> None:
    c = slow
    s = await terminal_on_node_2(c, make_container().name)
    try:
        ticker = Ticker(s)
        await asyncio.sleep(5 * TICK_S)
        since = len(c.agent_text())
        sigterm(c.nodes[0])
        took = await c.wait_agent_on(1, since=since, timeout=9.0)  # the backoff alone would take >= 10 s
        assert "is draining" in c.agent_text()[since:]
        proc = c.nodes[0].proc
        assert proc is not None
        assert await asyncio.to_thread(proc.wait, 20) == 0, c.nodes[0].log()[-2000:]
        await asyncio.sleep(5 * TICK_S)
        await ticker.stop_and_check()
        assert s.errors.empty()
        assert c.nodes[1].metric("porthole_server_sessions_open") == 1
        assert took < 9.0
    finally:
        await s.close()
