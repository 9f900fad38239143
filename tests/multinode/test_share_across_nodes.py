"""A shared terminal across server nodes (issue 15 §1), with real processes: a
redis-server, two `porthole server` nodes, the real agent (and porthole-core)
connected to node 1, Docker, and two users on aiortc. The owner is logged in on
node 2, the viewer on node 1: the invitation reaches the viewer's socket on the
other node, the viewer joins, asks for control (node 1 asks the device, then tells
the owner's socket on node 2), the owner hands control over and takes it back
through node 2 (the device's answer comes back from node 1's socket), and both
get `share:state` wherever their socket is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import socketio

from tests.e2e.test_shared_session import COLLEAGUE_PW, USERS, call, echo
from tests.e2e.test_shared_session_restart import collect, until
from tests.support import product_client
from tests.support.redisserver import RedisServer

from .cluster import Cluster, start_cluster


@pytest.fixture
async def cluster(tmp_path, redis_server: RedisServer) -> AsyncIterator[Cluster]:
    c = await start_cluster(tmp_path, redis_server, reconnect_delay_s=0.3, reconnect_max_s=1.0, server_extra=USERS)
    (tmp_path / "colleague.password").write_text(COLLEAGUE_PW)  # the secrets scan looks for these
    yield c
    await c.stop()


async def test_owner_on_node_2_viewer_on_node_1(cluster: Cluster, make_container) -> None:
    c = cluster
    node1, node2 = c.nodes[0].url, c.nodes[1].url
    assert f"connected to server {node2}" not in c.agent_text(), "the device must be on node 1 only"
    target = make_container().name
    owner_tok = await product_client.login(node2, c.dc.username, c.dc.password)
    colleague_tok = await product_client.login(node1, "colleague", COLLEAGUE_PW)
    owner = await product_client.open_terminal(node2, owner_tok, c.dc.device_id, target)
    inbox = socketio.AsyncClient(reconnection=False)
    try:
        await echo(owner.client, owner.client, "owner-on-node-2")

        # The invitation, asked on node 2, reaches the colleague's page on node 1.
        invited: asyncio.Queue = asyncio.Queue()
        inbox.on("share:invited", invited.put_nowait, namespace="/client")
        await inbox.connect(node1, namespaces=["/client"], auth={"token": colleague_tok}, transports=["websocket"])
        ack = await call(owner.sio, "share:invite", {"session_id": owner.id, "user": "colleague"})
        assert ack["ok"], ack
        note = await asyncio.wait_for(invited.get(), 15)
        assert note["session_id"] == owner.id and note["from"] == c.dc.username, note

        owner_states, requested = collect(owner.sio, "share:state"), collect(owner.sio, "share:control_requested")
        viewer = await product_client.open_terminal(
            node1,
            colleague_tok,
            c.dc.device_id,
            target,
            extra={"join": {"session_id": owner.id, "token": note["token"]}},
        )
        viewer_states = collect(viewer.sio, "share:state")
        await viewer.client.wait_output("owner-on-node-2")  # the scrollback
        await echo(owner.client, viewer.client, "live-to-node-1")
        await until(lambda: any(len(s["participants"]) == 2 for s in owner_states), "share:state on node 2")

        # The viewer asks on node 1; the owner hears of it on node 2.
        ack = await call(viewer.sio, "share:request", {"session_id": viewer.id})
        assert ack["ok"], ack
        await until(lambda: requested, "share:control_requested on node 2")
        assert requested[0]["viewer_session_id"] == viewer.id and requested[0]["user"] == "colleague", requested

        # Handoff through node 2 (the device's socket is on node 1): the viewer types, the owner's keys drop.
        ack = await call(owner.sio, "share:control", {"session_id": owner.id, "to": viewer.id})
        assert ack["ok"] and ack["controller"] == viewer.id, ack
        await echo(viewer.client, owner.client, "viewer-in-control")
        owner.client.type("echo OWN''ER-DROPPED\r")
        await echo(viewer.client, owner.client, "viewer-again")
        await until(lambda: any(s["controller"] == viewer.id for s in viewer_states), "share:state on node 1")
        await until(lambda: any(s["controller"] == viewer.id for s in owner_states), "the handoff's state on node 2")
        await asyncio.sleep(1)  # the owner's dropped keys are behind us before control moves back

        # Take back, through node 2.
        ack = await call(owner.sio, "share:control", {"session_id": owner.id, "to": None})
        assert ack["ok"] and ack["controller"] is None, ack
        await echo(owner.client, viewer.client, "owner-took-back")
        assert "OWNER-DROPPED" not in owner.client.text()
        await until(lambda: viewer_states[-1]["controller"] == "", "the take-back's state on node 1")
        await viewer.close()
    finally:
        await inbox.disconnect()
        await owner.close()
