"""Signaling is not the session (docs/protocol.md §2c, §3b): a lost socket unbinds
its sessions for `signaling_grace_s`; the client's `session:rebind` and the
device's `agent:sessions` route them again, also on a restarted server (restored
from the device's grant). Real server, Socket.IO peers."""

from __future__ import annotations

import pytest

from porthole.events import Event
from porthole.server import config as config_mod
from porthole.server.app import Server

from .conftest import ANSWER_SDP, CANDIDATE, OFFER_SDP, Env, Peer
from .test_relay import err, started

pytestmark = pytest.mark.server_config(signaling_grace_s=30)


def rerouted(env: Env) -> list[Event]:
    got: list[Event] = []
    env.server.events.subscribe(lambda ev: got.append(ev) if ev.name == "session.rerouted" else None)
    return got


async def rebind(client: Peer, *ids: str) -> list[dict]:
    ack = await client.call("session:rebind", {"sessions": [{"session_id": i} for i in ids]})
    assert ack["ok"], ack
    return ack["sessions"]


async def reannounce(agent: Peer, items: list[tuple[str, str]]) -> list[dict]:
    ack = await agent.call("agent:sessions", {"sessions": [{"session_id": s, "grant": g} for s, g in items]})
    assert ack["ok"], ack
    return ack["sessions"]


async def restart(env: Env) -> Server:
    """Stops the server (its peers first: a client left on a stopped server is slow to close)
    and starts a new one on the same config: same key, empty store (env stops it at the end)."""
    for p in env.peers:
        await p.close()
    env.peers.clear()
    await env.server.stop()
    new = Server(config_mod.load(env.config_path))
    await new.start()
    env.server = new
    return new


async def started_with_grant(env: Env) -> tuple[Peer, Peer, str, str]:
    client, agent, sid = await started(env)
    # started() took the offer off the queue; the grant is in the store.
    s = await env.server.store.get_session(sid)
    assert s is not None
    return client, agent, sid, s.grant


async def test_client_socket_lost_and_back_keeps_the_session(env: Env) -> None:
    events = rerouted(env)
    client, agent, sid = await started(env)
    await client.sio.disconnect()
    again = await env.client()
    assert await rebind(again, sid) == [{"session_id": sid, "status": "rebound"}]
    # Routed to the new socket both ways; the device was never told anything.
    assert await agent.call("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP}) == {"ok": True}
    assert (await again.next("webrtc:answer"))["session_id"] == sid
    assert await again.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert (await agent.next("webrtc:ice"))["session_id"] == sid
    assert agent.pending("webrtc:disconnect") == 0
    assert await env.server.store.count_sessions() == 1
    assert [(e.session_id, e.fields["side"], e.fields["restored"]) for e in events] == [(sid, "client", False)]


async def test_another_user_cannot_rebind_a_session(env: Env) -> None:
    client, _agent, sid = await started(env)
    other = await env.client("viewer")
    assert await rebind(other, sid) == [{"session_id": sid, "status": "gone", "code": "session_not_found"}]
    s = await env.server.store.get_session(sid)
    assert s is not None and s.client_sid == client.sio.get_sid("/client")


async def test_rebind_of_an_ended_or_unknown_session(env: Env) -> None:
    client, _agent, sid = await started(env)
    assert await client.call("webrtc:disconnect", {"session_id": sid}) == {"ok": True}
    got = await rebind(client, sid, "s_never_existed")
    assert got == [
        {"session_id": sid, "status": "gone", "code": "session_not_found"},
        {"session_id": "s_never_existed", "status": "pending"},
    ]


async def test_rebind_payload_is_checked(env: Env) -> None:
    client = await env.client()
    assert err(await client.call("session:rebind", {"sessions": "x"})) == "bad_request"
    assert err(await client.call("session:rebind", {"sessions": [{"session_id": "../x"}]})) == "bad_request"
    too_many = [{"session_id": f"s_{i}"} for i in range(257)]
    assert err(await client.call("session:rebind", {"sessions": too_many})) == "bad_request"


async def test_agent_socket_lost_and_back_keeps_the_session(env: Env) -> None:
    events = rerouted(env)
    client, agent, sid, signed = await started_with_grant(env)
    await agent.sio.disconnect()
    again = await env.agent("edge-1")
    assert await reannounce(again, [(sid, signed)]) == [{"session_id": sid, "status": "rebound"}]
    assert await client.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert (await again.next("webrtc:ice"))["session_id"] == sid
    assert client.pending("webrtc:error") == 0
    assert [(e.fields["side"], e.fields["was_detached"]) for e in events] == [("agent", True)]


async def test_another_device_cannot_take_a_session(env: Env) -> None:
    _client, _agent, sid, signed = await started_with_grant(env)
    thief = await env.agent("edge-2")
    got = await reannounce(thief, [(sid, signed)])
    assert got == [{"session_id": sid, "status": "gone", "code": "session_not_found"}]


async def test_server_restart_restores_from_the_grant(env: Env) -> None:
    _client, _agent, sid, signed = await started_with_grant(env)
    new = await restart(env)
    events = rerouted(env)
    again_client = await env.client()
    # The client may come first: the device has not re-announced yet.
    assert await rebind(again_client, sid) == [{"session_id": sid, "status": "pending"}]
    again_agent = await env.agent("edge-1")
    assert await reannounce(again_agent, [(sid, signed)]) == [{"session_id": sid, "status": "restored"}]
    assert await rebind(again_client, sid) == [{"session_id": sid, "status": "rebound"}]
    # A second announce (a retry) does not duplicate it.
    assert await reannounce(again_agent, [(sid, signed)]) == [{"session_id": sid, "status": "rebound"}]
    assert await new.store.count_sessions() == 1
    assert await again_client.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert (await again_agent.next("webrtc:ice"))["session_id"] == sid
    ok = await again_agent.call("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP})
    assert ok == {"ok": True}
    assert (await again_client.next("webrtc:answer"))["session_id"] == sid
    assert [(e.fields["side"], e.fields["restored"]) for e in events] == [
        ("agent", True),
        ("client", False),
        ("agent", False),
    ]
    # Explicit close still ends it, and the device hears it.
    assert await again_client.call("webrtc:disconnect", {"session_id": sid}) == {"ok": True}
    assert (await again_agent.next("webrtc:disconnect"))["session_id"] == sid


async def test_restored_session_needs_a_true_grant_for_this_device(env: Env) -> None:
    _client, _agent, sid, signed = await started_with_grant(env)
    new = await restart(env)
    thief = await env.agent("edge-2")
    got = await reannounce(thief, [(sid, signed)])
    assert got == [{"session_id": sid, "status": "gone", "code": "grant_wrong_device"}]
    forged = signed[:-4] + ("AAAA" if not signed.endswith("AAAA") else "BBBB")
    edge1 = await env.agent("edge-1")
    got = await reannounce(edge1, [(sid, forged)])
    assert got == [{"session_id": sid, "status": "gone", "code": "grant_invalid"}]
    assert await new.store.count_sessions() == 0


@pytest.mark.server_config(signaling_grace_s=1)
async def test_a_restored_session_whose_client_never_comes_back_ends(env: Env) -> None:
    _client, _agent, sid, signed = await started_with_grant(env)
    await restart(env)
    agent = await env.agent("edge-1")
    assert await reannounce(agent, [(sid, signed)]) == [{"session_id": sid, "status": "restored"}]
    assert await agent.next("webrtc:disconnect") == {"session_id": sid, "reason": "client_gone"}
    # Ended: a later re-announce is told so, not restored again.
    assert await reannounce(agent, [(sid, signed)]) == [
        {"session_id": sid, "status": "gone", "code": "session_not_found"}
    ]


async def test_ice_restart_is_relayed_and_its_failure_ends_nothing(env: Env) -> None:
    events = []
    env.server.events.subscribe(lambda ev: events.append(ev) if ev.name == "session.ice_restarted" else None)
    client, agent, sid = await started(env)
    restart = {"session_id": sid, "type": "offer", "sdp": OFFER_SDP}
    assert await client.call("webrtc:restart", restart) == {"ok": True}
    assert await agent.next("webrtc:restart") == restart
    assert [e.session_id for e in events] == [sid]
    # The device answers as it answers any offer.
    assert await agent.call("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP}) == {"ok": True}
    assert (await client.next("webrtc:answer"))["sdp"] == ANSWER_SDP
    # One it cannot answer: the client hears why, the session goes on.
    failed = {"session_id": sid, "code": "restart_failed", "message": "the restart offer was refused"}
    assert await agent.call("webrtc:error", failed) == {"ok": True}
    assert await client.next("webrtc:error") == failed
    assert await env.server.store.get_session(sid) is not None
    assert err(await client.call("webrtc:restart", {**restart, "type": "answer"})) == "bad_request"
    assert err(await client.call("webrtc:restart", {**restart, "session_id": "s_other"})) == "session_not_found"


async def test_ice_restart_while_the_device_is_away_says_device_offline(env: Env) -> None:
    client, agent, sid = await started(env)
    await agent.sio.disconnect()
    restart = {"session_id": sid, "type": "offer", "sdp": OFFER_SDP}
    assert err(await client.call("webrtc:restart", restart)) == "device_offline"
    assert await env.server.store.get_session(sid) is not None  # kept for the device's re-announce
