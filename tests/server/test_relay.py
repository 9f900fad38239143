"""Relay of offer/answer/ICE/disconnect/error between a client and an agent."""

from __future__ import annotations

import logging

import pytest

from .conftest import ANSWER_SDP, CANDIDATE, OFFER_SDP, PASSWORDS, SECRETS, TURN_CREDENTIAL, Env, Peer, open_session


async def started(env: Env, user: str = "operator") -> tuple[Peer, Peer, str]:
    """An agent for edge-1, a client, and a session whose offer reached the agent."""
    agent = await env.agent("edge-1")
    client = await env.client(user)
    ack = await open_session(client)
    assert ack["ok"], ack
    sid = ack["session_id"]
    assert await client.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": OFFER_SDP}) == {"ok": True}
    assert (await agent.next("webrtc:offer"))["session_id"] == sid
    return client, agent, sid


def err(ack: dict) -> str:
    assert ack["ok"] is False, ack
    return ack["error"]["code"]


async def test_answer_and_ice_both_ways(env: Env) -> None:
    client, agent, sid = await started(env)
    assert await agent.call("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP}) == {"ok": True}
    assert await client.next("webrtc:answer") == {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP}

    assert await client.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert await agent.next("webrtc:ice") == {"session_id": sid, "candidate": CANDIDATE}
    assert await client.call("webrtc:ice", {"session_id": sid, "candidate": None}) == {"ok": True}
    assert await agent.next("webrtc:ice") == {"session_id": sid, "candidate": None}

    cand = {**CANDIDATE, "usernameFragment": "abcd", "extra": "dropped"}
    assert await agent.call("webrtc:ice", {"session_id": sid, "candidate": cand}) == {"ok": True}
    got = await client.next("webrtc:ice")
    assert got == {"session_id": sid, "candidate": {**CANDIDATE, "usernameFragment": "abcd"}}


async def test_candidates_trickled_before_the_offer_follow_it(env: Env) -> None:
    agent = await env.agent("edge-1")
    client = await env.client()
    sid = (await open_session(client))["session_id"]
    assert await client.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert agent.pending("webrtc:ice") == 0
    await client.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": OFFER_SDP})
    assert (await agent.next("webrtc:offer"))["session_id"] == sid
    assert (await agent.next("webrtc:ice"))["candidate"] == CANDIDATE


async def test_disconnect_from_client_reaches_agent_and_ends_session(env: Env) -> None:
    client, agent, sid = await started(env)
    assert await client.call("webrtc:disconnect", {"session_id": sid, "reason": "user_closed"}) == {"ok": True}
    assert await agent.next("webrtc:disconnect") == {"session_id": sid, "reason": "user_closed"}


@pytest.mark.parametrize(
    "sent,relayed",
    [
        (None, "user_closed"),
        ("user_closed", "user_closed"),
        ("idle_timeout", "client_error"),
        ("exit", "client_error"),
        ("client_gone", "client_error"),
        ("ice_failed", "client_error"),
    ],
)
async def test_a_client_cannot_write_the_devices_close_reason(env: Env, sent, relayed) -> None:
    client, agent, sid = await started(env)
    payload = {"session_id": sid} if sent is None else {"session_id": sid, "reason": sent}
    assert await client.call("webrtc:disconnect", payload) == {"ok": True}
    assert await agent.next("webrtc:disconnect") == {"session_id": sid, "reason": relayed}
    assert err(await client.call("webrtc:ice", {"session_id": sid, "candidate": None})) == "session_not_found"
    assert (
        err(await agent.call("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP}))
        == "session_not_found"
    )


async def test_disconnect_from_agent_reaches_client(env: Env) -> None:
    client, agent, sid = await started(env)
    assert await agent.call("webrtc:disconnect", {"session_id": sid, "reason": "exited"}) == {"ok": True}
    assert await client.next("webrtc:disconnect") == {"session_id": sid, "reason": "exited"}
    assert err(await client.call("webrtc:disconnect", {"session_id": sid})) == "session_not_found"


async def test_error_from_agent_reaches_client_and_ends_session(env: Env) -> None:
    client, agent, sid = await started(env)
    ack = await agent.call("webrtc:error", {"session_id": sid, "code": "grant_replayed", "message": "seen before"})
    assert ack == {"ok": True}
    assert await client.next("webrtc:error") == {"session_id": sid, "code": "grant_replayed", "message": "seen before"}
    assert err(await client.call("webrtc:ice", {"session_id": sid, "candidate": None})) == "session_not_found"


async def test_someone_elses_session_is_never_relayed(env: Env) -> None:
    client, agent, sid = await started(env)
    other_agent = await env.agent("edge-2")
    same_user_other_socket = await env.client("operator")
    viewer = await env.client("viewer")
    for intruder in (same_user_other_socket, viewer):
        assert (
            err(await intruder.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": OFFER_SDP}))
            == "session_not_found"
        )
        assert (
            err(await intruder.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE})) == "session_not_found"
        )
        assert err(await intruder.call("webrtc:disconnect", {"session_id": sid})) == "session_not_found"
    for payload in (
        ("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP}),
        ("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}),
        ("webrtc:error", {"session_id": sid, "code": "internal", "message": "x"}),
        ("webrtc:disconnect", {"session_id": sid, "reason": "x"}),
    ):
        assert err(await other_agent.call(*payload)) == "session_not_found"
    assert err(await client.call("webrtc:ice", {"session_id": "s_unknown", "candidate": None})) == "session_not_found"
    # Nothing leaked to either real peer; the session still works.
    assert agent.pending("webrtc:ice") == 0 and agent.pending("webrtc:disconnect") == 0
    assert client.pending("webrtc:answer") == 0 and client.pending("webrtc:error") == 0
    assert await client.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert (await agent.next("webrtc:ice"))["session_id"] == sid


@pytest.mark.server_config(signaling_grace_s=0)
async def test_client_gone_tells_the_agent_without_a_grace(env: Env) -> None:
    client, agent, sid = await started(env)
    await client.sio.disconnect()
    assert await agent.next("webrtc:disconnect") == {"session_id": sid, "reason": "client_gone"}


@pytest.mark.server_config(signaling_grace_s=1)
async def test_client_gone_past_the_grace_tells_the_agent(env: Env) -> None:
    client, agent, sid = await started(env)
    await client.sio.disconnect()
    assert await agent.next("webrtc:disconnect") == {"session_id": sid, "reason": "client_gone"}


@pytest.mark.server_config(signaling_grace_s=0)
async def test_agent_gone_tells_the_client_without_a_grace(env: Env) -> None:
    client, agent, sid = await started(env)
    await agent.sio.disconnect()
    got = await client.next("webrtc:error")
    assert got["session_id"] == sid and got["code"] == "device_offline"
    assert err(await client.call("webrtc:ice", {"session_id": sid, "candidate": None})) == "session_not_found"


@pytest.mark.server_config(signaling_grace_s=1)
async def test_agent_gone_past_the_grace_tells_the_client(env: Env) -> None:
    client, agent, sid = await started(env)
    await agent.sio.disconnect()
    got = await client.next("webrtc:error")
    assert got["session_id"] == sid and got["code"] == "device_offline"
    assert err(await client.call("webrtc:ice", {"session_id": sid, "candidate": None})) == "session_not_found"


@pytest.mark.server_config(signaling_grace_s=1)
async def test_replaced_agent_that_does_not_reannounce_ends_its_sessions(env: Env) -> None:
    client, _agent, _sid = await started(env)
    await env.agent("edge-1")
    assert (await client.next("webrtc:error"))["code"] == "device_offline"


async def test_offer_twice_or_oversized_sdp_is_a_bad_request(env: Env) -> None:
    agent = await env.agent("edge-1")
    client = await env.client()
    sid = (await open_session(client))["session_id"]
    big = "v=0\r\n" + "a=x\r\n" * 20000
    assert err(await client.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": big})) == "bad_request"
    assert (
        err(await client.call("webrtc:offer", {"session_id": sid, "type": "answer", "sdp": OFFER_SDP})) == "bad_request"
    )
    assert await client.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": OFFER_SDP}) == {"ok": True}
    assert (
        err(await client.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": OFFER_SDP})) == "bad_request"
    )
    await agent.next("webrtc:offer")
    assert agent.pending("webrtc:offer") == 0


@pytest.mark.parametrize(
    "event,payload",
    [
        ("webrtc:offer", None),
        ("webrtc:offer", "s_x"),
        ("webrtc:offer", {"session_id": 5, "sdp": OFFER_SDP}),
        ("webrtc:ice", {"session_id": "SID"}),
        ("webrtc:ice", {"session_id": "SID", "candidate": "candidate:1"}),
        ("webrtc:ice", {"session_id": "SID", "candidate": {"candidate": "x" * 5000, "sdpMid": "0"}}),
        ("webrtc:ice", {"session_id": "SID", "candidate": {"candidate": "c", "sdpMLineIndex": -1}}),
        ("webrtc:ice", {"session_id": "SID", "candidate": {"candidate": "c"}}),
        ("webrtc:disconnect", {"session_id": "SID", "reason": 7}),
        ("no:such:event", {}),
    ],
)
async def test_bad_client_payloads_get_bad_request_and_nothing_breaks(env: Env, event: str, payload) -> None:
    client, agent, sid = await started(env)
    if isinstance(payload, dict) and payload.get("session_id") == "SID":
        payload = {**payload, "session_id": sid}
    assert err(await client.call(event, payload)) == "bad_request"
    # Several arguments at once are refused too.
    ack = await client.sio.call("webrtc:ice", ({"session_id": sid}, {"x": 1}), namespace="/client", timeout=5)
    assert err(ack) == "bad_request"
    assert await client.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE}) == {"ok": True}
    assert (await agent.next("webrtc:ice"))["candidate"] == CANDIDATE


@pytest.mark.parametrize(
    "event,payload",
    [
        ("webrtc:answer", {"session_id": "SID", "type": "answer", "sdp": "x" * 70000}),
        ("webrtc:answer", {"session_id": "SID", "type": "answer"}),
        ("webrtc:error", {"session_id": "SID", "code": "Not A Code"}),
        ("webrtc:error", {"session_id": "SID", "code": "internal", "message": "m" * 2000}),
        ("agent:inventory", {"targets": None}),
        ("session:open", {}),
    ],
)
async def test_bad_agent_payloads_get_bad_request(env: Env, event: str, payload) -> None:
    client, agent, sid = await started(env)
    if isinstance(payload, dict) and payload.get("session_id") == "SID":
        payload = {**payload, "session_id": sid}
    assert err(await agent.call(event, payload)) == "bad_request"
    assert await agent.call("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP}) == {"ok": True}
    assert (await client.next("webrtc:answer"))["session_id"] == sid


async def test_logs_carry_ids_but_no_credentials(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await env.login_raw({"username": "operator", "password": "wrong-Pa55-guess"})
    client, agent, sid = await started(env)
    token = await env.token()
    await client.call("webrtc:ice", {"session_id": sid, "candidate": CANDIDATE})
    await agent.call("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": ANSWER_SDP})
    await agent.call("webrtc:error", {"session_id": sid, "code": "ice_failed", "message": "no route"})
    await client.next("webrtc:error")
    text = caplog.text
    assert sid in text and "operator" in text and "edge-1" in text
    secrets = [
        *PASSWORDS.values(),
        *SECRETS.values(),
        TURN_CREDENTIAL,
        token,
        "wrong-Pa55-guess",
        "eyJ",
        "a=",
        "candidate:1",
    ]
    for s in secrets:
        assert s not in text, f"{s[:12]}... appears in the logs"
