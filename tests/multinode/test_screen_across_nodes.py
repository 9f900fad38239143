"""A screen across nodes, with real processes: a redis-server, two `porthole
server` nodes, the real agent (and porthole-core) offering a real Xvfb as a
screen target and connected to node 1, and an aiortc client (a WebRTC stack we
did not write) logged in on node 2. The client sees the target in node 2's
devices:list, its offer reaches the device through node 1's socket, and the
display's pixels arrive decoded; the session, in the shared store, joins node
2's client socket to node 1's device socket, and the client's close on node 2
ends it on the device."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator

import pytest

from porthole import xdisplay
from porthole.server.redisstore import RedisStore
from tests.screen.client import near
from tests.support import product_client, xserver
from tests.support.redisserver import RedisServer
from tests.support.waiting import async_wait_for

from .cluster import Cluster, Node, start_cluster

SCREEN_ID = "desk"
STREAM_W, STREAM_H = 320, 180  # small: this runs beside other tests on 2 cores
RED, BLUE, GREEN, YELLOW = (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0)


@pytest.fixture
def xvfb() -> Iterator[xdisplay.Xvfb]:
    x = xserver.start_shared(640, 360)
    yield x
    x.stop()


@pytest.fixture
async def cluster(tmp_path, redis_server: RedisServer, xvfb: xdisplay.Xvfb) -> AsyncIterator[Cluster]:
    c = await start_cluster(
        tmp_path,
        redis_server,
        reconnect_delay_s=0.3,
        reconnect_max_s=1.0,
        targets="[targets]\ndocker = false\n",
        agent_extra=f"""
[[screens]]
id = "{SCREEN_ID}"
name = "Test desk"
display = "{xvfb.display}"
width = {STREAM_W}
height = {STREAM_H}
fps = 15
""",
    )
    yield c
    await c.stop()


def node_id(n: Node) -> str:
    m = re.search(r"node (\S+): state in Redis", n.log())
    assert m, f"no node id in the log\n{n.log()[-2000:]}"
    return m.group(1)


async def test_screen_on_node_2_of_a_device_on_node_1(cluster: Cluster, xvfb: xdisplay.Xvfb) -> None:
    c = cluster
    assert f"connected to server {c.nodes[1].url}" not in c.agent_text(), "the device must be on node 1 only"
    xvfb.halves("#ff0000", "#0000ff")
    token = await product_client.login(c.nodes[1].url, c.dc.username, c.dc.password)
    # open_screen waits for the target in node 2's devices:list, then offers through node 2.
    s = await product_client.open_screen(c.nodes[1].url, token, c.dc.device_id, SCREEN_ID)
    store = RedisStore(c.redis.url)
    try:
        client = s.client
        closed = asyncio.Event()  # the device ended the session: its `input` channel closes
        client.channel.on("close", closed.set)
        await client.wait_for(lambda: client.frames > 0, what="a first decoded frame")
        f = client.last_frame
        assert f is not None and (f.width, f.height) == (STREAM_W, STREAM_H)

        def shows(left, right):
            return lambda: near(client.pixel(0.25, 0.5), left) and near(client.pixel(0.75, 0.5), right)

        await client.wait_for(shows(RED, BLUE), what="red | blue")
        xvfb.halves("#00ff00", "#ffff00")
        await client.wait_for(shows(GREEN, YELLOW), what="green | yellow after the pattern changed")

        # The shared store: the screen session joins node 2's client socket to node 1's device socket.
        session = await store.get_session(s.id)
        assert session is not None and session.kind == "screen" and session.target_id == SCREEN_ID, session
        assert session.offered
        conn = await store.get_client(session.client_sid)
        agent = await store.get_agent(session.agent_sid)
        assert conn is not None and agent is not None, (conn, agent)
        assert conn.node == node_id(c.nodes[1]), (conn, node_id(c.nodes[1]))
        assert agent.node == node_id(c.nodes[0]) and agent.device_id == c.dc.device_id, (agent, node_id(c.nodes[0]))
        assert c.nodes[1].metric("porthole_server_sessions_open") == 1
        assert c.nodes[1].metric("porthole_server_agents_connected") == 1
        assert s.errors.empty()

        # The client's close on node 2 reaches the device through node 1, which ends the session.
        ack = await s.sio.call("webrtc:disconnect", {"session_id": s.id, "reason": "user_closed"}, namespace="/client")
        assert ack == {"ok": True}, ack

        async def gone() -> bool:
            return await store.get_session(s.id) is None

        await async_wait_for(gone, 15, message="the session to leave the store")
        await asyncio.wait_for(closed.wait(), 15)
    finally:
        await store.close()
        await s.close()
