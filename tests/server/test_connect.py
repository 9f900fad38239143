"""Socket.IO handshakes: client tokens, agent secrets, origins."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import socketio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from porthole import grant
from porthole.server.auth import Tokens

from .conftest import SECRETS, Env


def refusal(peer) -> dict:
    assert peer.connect_errors, "no connect_error received"
    err = peer.connect_errors[-1]
    return err.get("data", err)


@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"token": "garbage"}, {"token": 42}, "a string"])
async def test_client_connect_without_a_valid_token_is_refused(env: Env, auth) -> None:
    peer = env.peer("/client")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(env.url, auth)
    assert refusal(peer)["code"] == "unauthenticated"


async def test_client_connect_with_expired_token_is_refused(env: Env) -> None:
    key = grant.load_private_key(env.server.config.server.signing_key)
    old = Tokens(key, 60).issue("operator", "demo", now=time.time() - 3600)
    peer = env.peer("/client")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(env.url, {"token": old})
    assert refusal(peer)["code"] == "unauthenticated"
    assert "expired" in refusal(peer)["message"]


async def test_token_signed_by_another_key_or_a_grant_is_refused(env: Env) -> None:
    other_priv, _ = grant.generate_keypair()
    other = serialization.load_pem_private_key(other_priv, password=None)
    assert isinstance(other, Ed25519PrivateKey)
    forged = Tokens(other, 60).issue("operator", "demo")
    key = grant.load_private_key(env.server.config.server.signing_key)
    a_grant = grant.sign(key, session_id="s_x", user="operator", org="demo", device_id="edge-1", target_id="t")
    for token in (forged, a_grant):
        peer = env.peer("/client")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect(env.url, {"token": token})
        assert refusal(peer)["code"] == "unauthenticated"


async def test_client_connect_with_token_works(env: Env) -> None:
    c = await env.client()
    assert c.sio.connected


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_cross_origin_handshake_is_refused(env: Env, transport: str) -> None:
    token = await env.token()
    peer = env.peer("/client")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(env.url, {"token": token}, headers={"Origin": "http://evil.example"}, transports=[transport])
    assert not peer.sio.connected


async def test_same_origin_and_configured_origin_are_accepted(env: Env) -> None:
    for origin in (env.url, "https://console.example"):
        c = await env.client(headers={"Origin": origin})
        assert c.sio.connected


async def test_polling_handshake_checks_the_origin(env: Env) -> None:
    # A bare engine.io polling handshake (no long-poll left open behind it).
    url = env.url + "/socket.io/?EIO=4&transport=polling"
    for origin, status in (
        (env.url, 200),
        ("https://console.example", 200),
        ("http://evil.example", 400),
        (env.url.replace("127.0.0.1", "localhost"), 400),
    ):
        async with env.http.get(url, headers={"Origin": origin}) as r:
            assert r.status == status, origin
            if status == 200:
                assert r.headers["Access-Control-Allow-Origin"] == origin


async def test_agent_auth_good_and_bad(env: Env) -> None:
    a = await env.agent("edge-1")
    assert a.sio.connected
    bad = [
        {"device_id": "edge-1", "secret": "wrong"},
        {"device_id": "edge-1", "secret": SECRETS["edge-2"]},
        {"device_id": "nope", "secret": SECRETS["edge-1"]},
        {"device_id": "edge-1"},
        None,
        {"token": "x"},
    ]
    for auth in bad:
        peer = env.peer("/agent")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect(env.url, auth)
        assert refusal(peer)["code"] == "unauthenticated"


async def test_client_token_does_not_open_agent_namespace(env: Env) -> None:
    peer = env.peer("/agent")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(env.url, {"token": await env.token()})


async def test_second_agent_connection_replaces_the_first(env: Env) -> None:
    first = await env.agent("edge-1")
    second = await env.agent("edge-1")
    async with asyncio.timeout(5):
        while first.sio.connected:
            await asyncio.sleep(0.02)
    assert second.sio.connected
    c = await env.client()
    ack = await c.call("devices:list")
    edge1 = next(d for d in ack["devices"] if d["id"] == "edge-1")
    assert edge1["online"] is True


async def test_default_namespace_is_refused(env: Env) -> None:
    peer = env.peer("/")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(env.url, {"token": await env.token()})


async def test_a_revoked_login_token_is_refused_and_audited(env: Env) -> None:
    token = await env.token("operator")
    first = env.peer("/client")
    await first.connect(env.url, {"token": token})  # good until revoked
    await env.server.tokens.revoke(env.server.tokens.verify(token))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await env.peer("/client").connect(env.url, {"token": token})
    ack = await first.call("auth:refresh", {"token": token})
    assert ack["ok"] is False and ack["error"]["code"] == "unauthenticated"
    fresh = env.peer("/client")
    await fresh.connect(env.url, {"token": await env.token("operator")})  # a new login
    assert fresh.sio.connected
    audit = [json.loads(line) for line in (env.config_path.parent / "audit.jsonl").read_text().splitlines()]
    assert [r["code"] for r in audit if r["event"] == "connect.denied"] == ["token_revoked"]
