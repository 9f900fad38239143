"""Two server nodes on one Redis: any node serves any browser and any device,
and the state that decides (sessions, routes, revoked logins, attempt budgets)
is the same on both. Real redis-server, real Socket.IO clients."""

from __future__ import annotations

import asyncio
import secrets

import pytest
import redis.asyncio as aioredis
import socketio

from porthole.server import nodes as nodes_mod
from tests.server.conftest import ANSWER_SDP, CANDIDATE, OFFER_SDP, PASSWORDS, Peer, open_session
from tests.support.waiting import async_wait_for

from .conftest import Nodes, start_node


async def offered(n: Nodes, client: Peer, agent: Peer) -> str:
    """A session opened by `client` whose offer reached `agent`; its id."""
    return (await offer(client, agent))["session_id"]


async def offer(client: Peer, agent: Peer) -> dict:
    """A session opened by `client`; the offer (with its grant) as it reached `agent`."""
    ack = await open_session(client)
    assert ack["ok"], ack
    sid = ack["session_id"]
    assert await client.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": OFFER_SDP}) == {"ok": True}
    got = await agent.next("webrtc:offer")
    assert got["session_id"] == sid
    return dict(got)


async def devices(client: Peer) -> list[dict]:
    ack = await client.call("devices:list")
    assert ack["ok"], ack
    return ack["devices"]


async def test_a_browser_on_node_2_opens_a_session_on_a_device_on_node_1(nodes: Nodes) -> None:
    on_2 = await nodes.client(1)
    on_1 = await nodes.client(0)
    agent = await nodes.agent(0)
    await on_2.next("devices:changed")  # the device came online on the other node
    assert await devices(on_1) == await devices(on_2)
    edge1 = next(d for d in await devices(on_2) if d["id"] == "edge-1")
    assert edge1["online"] and [t["id"] for t in edge1["targets"]] == ["plc-runtime", "host"]

    sid = await offered(nodes, on_2, agent)
    assert await agent.call("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP}) == {"ok": True}
    assert (await on_2.next("webrtc:answer"))["sdp"] == ANSWER_SDP
    assert await agent.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert (await on_2.next("webrtc:ice"))["candidate"] == CANDIDATE
    assert await on_2.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert (await agent.next("webrtc:ice"))["candidate"] == CANDIDATE
    for s in nodes.servers:
        assert await s.store.count_sessions() == 1
    assert await on_2.call("webrtc:disconnect", {"session_id": sid, "reason": "user_closed"}) == {"ok": True}
    assert await agent.next("webrtc:disconnect") == {"session_id": sid, "reason": "user_closed"}
    assert on_1.pending("webrtc:answer") == 0  # nothing reached the client on the other node


async def test_a_login_revoked_on_node_1_is_refused_on_node_2(nodes: Nodes) -> None:
    token = await nodes.token(0)
    await nodes.client(1, token=token)  # good on the other node until revoked
    first = nodes.servers[0]
    await first.tokens.revoke(first.tokens.verify(token))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await nodes.client(1, token=token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await nodes.client(0, token=token)
    await nodes.client(1)  # a new login works anywhere


async def test_failed_login_budgets_hold_across_nodes(nodes: Nodes) -> None:
    # login_max_failures = 5 per user and address: spent on both nodes together.
    statuses = [(await nodes.login(i % 2, "operator", "wrong")).status for i in range(5)]
    assert statuses == [401] * 5
    assert (await nodes.login(0, "operator", "wrong")).status == 429
    assert (await nodes.login(1, "operator", "wrong")).status == 429
    assert (await nodes.login(1, "operator", PASSWORDS["operator"])).status == 429  # spent: not even the right one
    assert (await nodes.login(0, "viewer")).status == 200  # another user's budget is untouched


async def _heard_across(agent: Peer, client: Peer) -> bool:
    while client.pending("devices:changed"):
        await client.next("devices:changed")
    targets = [{"id": f"t{secrets.token_hex(3)}", "kind": "container"}, {"id": "plc-runtime", "kind": "container"}]
    assert await agent.call("agent:inventory", {"targets": targets}) == {"ok": True}
    try:
        await client.next("devices:changed", timeout=1)
        return True
    except TimeoutError:
        return False


async def test_after_a_redis_restart_nodes_relay_again_and_logins_hold(nodes: Nodes) -> None:
    on_2 = await nodes.client(1)
    agent = await nodes.agent(0)
    revoked = await nodes.token(1)
    await nodes.servers[1].tokens.revoke(nodes.servers[1].tokens.verify(revoked))
    kept = await nodes.token(0)  # issued before the restart

    nodes.redis.restart()
    # python-socketio's listener subscribes again after its retry delay (1 s, then doubling):
    # until then an emit to the other node is lost. The device's inventory changes until the
    # client on the other node hears of it.
    await async_wait_for(lambda: _heard_across(agent, on_2), 30, message="emits across nodes again")

    await nodes.client(1, token=kept)  # still valid
    with pytest.raises(socketio.exceptions.ConnectionError):
        await nodes.client(0, token=revoked)  # still revoked (Redis kept its append-only file)
    await offered(nodes, on_2, agent)  # routes and relays across nodes as before


async def test_a_node_that_stopped_is_cleaned_up_by_another(nodes: Nodes, tmp_path) -> None:
    """A third node stops (its sockets leave it); once its heartbeat is gone, a live node
    cleans up what it left: the session of its client waits the grace for a rebind and
    ends, and the route of its device, which did not come back, is dropped."""
    doomed = await start_node(nodes.config_path)
    nodes.servers.append(doomed)
    agent_on_1 = await nodes.agent(0)
    client_on_doomed = await nodes.client(2)
    device2_on_doomed = await nodes.agent(2, "edge-2")
    watcher = await nodes.client(1)
    sid = await offered(nodes, client_on_doomed, agent_on_1)

    await doomed.stop()  # drains: its sockets are gone, their state is left to the others
    assert await nodes.servers[0].store.count_sessions() == 1
    assert any(d["id"] == "edge-2" and d["online"] for d in await devices(watcher))
    await _expire(nodes, doomed.node_id)
    assert await nodes.servers[1].nodes.sweep() == [doomed.node_id]
    assert await agent_on_1.next("webrtc:disconnect") == {"session_id": sid, "reason": "client_gone"}
    assert await nodes.servers[0].store.count_sessions() == 0
    assert not any(d["id"] == "edge-2" and d["online"] for d in await devices(watcher))
    assert await nodes.servers[0].nodes.sweep() == []  # cleaned up once
    assert device2_on_doomed.sio.connected is False


async def test_a_device_back_on_another_node_keeps_its_sessions(nodes: Nodes) -> None:
    doomed = await start_node(nodes.config_path)
    nodes.servers.append(doomed)
    client = await nodes.client(1)
    old = await nodes.agent(2)
    got = await offer(client, old)
    sid = got["session_id"]
    await doomed.stop()
    new = await nodes.agent(0)  # the device reconnects elsewhere, before its old node is found dead
    ack = await new.call("agent:sessions", {"sessions": [{"session_id": sid, "grant": got["grant"]}]})
    assert ack["ok"] and [x["status"] for x in ack["sessions"]] == ["rebound"], ack
    await _expire(nodes, doomed.node_id)
    assert await nodes.servers[1].nodes.sweep() == [doomed.node_id]
    assert await nodes.servers[0].store.count_sessions() == 1
    assert await client.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert (await new.next("webrtc:ice"))["session_id"] == sid  # routed through the device's new node
    assert client.pending("webrtc:error") == 0


async def test_nodes_that_find_their_state_gone_make_their_sockets_register_again(nodes: Nodes) -> None:
    agent = await nodes.agent(0)
    client = await nodes.client(1)
    r = aioredis.Redis.from_url(nodes.redis.url)
    try:
        await r.flushall()  # as a Redis restarted without its data
    finally:
        await r.aclose()
    timeout = nodes_mod.HEARTBEAT_S * 3 + 5
    await async_wait_for(lambda: not agent.sio.connected and not client.sio.connected, timeout, message="disconnected")


async def _expire(n: Nodes, node_id: str) -> None:
    """The node's heartbeat expires now (instead of NODE_TTL_S later)."""
    r = aioredis.Redis.from_url(n.redis.url)
    try:
        await r.delete(f"porthole:node:{node_id}")
    finally:
        await r.aclose()
    await asyncio.sleep(0)


async def test_with_redis_down_a_connect_is_refused_with_a_code(nodes: Nodes) -> None:
    token = await nodes.token(0)
    nodes.redis.stop()
    peer = Peer("/client", ())
    nodes.peers.append(peer)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(nodes.url(1), {"token": token})
    assert peer.connect_errors, "no connect_error received"
    err = peer.connect_errors[-1]
    assert err.get("data", err)["code"] == "internal", err
    nodes.redis.start()
    await nodes.client(1, token=token)  # back once Redis is


async def test_a_long_redis_outage_takes_no_live_node_for_dead(nodes: Nodes, monkeypatch, caplog) -> None:
    """Redis down for longer than a node's heartbeat lives: every heartbeat has expired when
    it is back, yet both nodes are alive. Neither cleans up after the other, and their
    sockets and sessions stay. (Heartbeats shortened here: 0.2 s, dead after 1 s.)"""
    monkeypatch.setattr(nodes_mod, "HEARTBEAT_S", 0.2)
    monkeypatch.setattr(nodes_mod, "NODE_TTL_S", 1.0)
    client = await nodes.client(1)
    agent = await nodes.agent(0)
    sid = await offered(nodes, client, agent)
    await asyncio.sleep(2.5)  # both nodes beat with the short TTL and have swept once
    nodes.redis.stop()
    await asyncio.sleep(2.5)  # every heartbeat expires meanwhile
    nodes.redis.start()
    await asyncio.sleep(3.0)  # a full TTL of answers and more: sweeps run again
    assert "stopped beating" not in caplog.text
    assert "its state was gone" not in caplog.text
    assert client.sio.connected and agent.sio.connected
    assert await nodes.servers[1].store.count_sessions() == 1
    assert await client.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
