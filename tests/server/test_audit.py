"""The server's audit trail (docs/security.md): logins, refused connects,
session:open granted and refused (each refusal with its own reason), ends,
the sync mode that refuses sessions without a record, and ending sessions on
login expiry when the policy says so."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest
import socketio

from porthole import grant
from porthole.server import config as config_mod
from porthole.server.app import Server
from porthole.server.auth import Tokens
from tests.support.waiting import async_wait_for

from .conftest import OFFER_SDP, PASSWORDS, TURN_CREDENTIAL, Env, open_session, write_config

# How long after its grant a never-offered session may take to be ended (the sweep
# ticks every second); generous, for a loaded 2-core machine.
EXPIRY_WAIT_S = 10


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def audit_path(env: Env) -> Path:
    return env.config_path.parent / "audit.jsonl"


async def test_logins_are_audited_without_the_password(env: Env) -> None:
    assert (await env.login_raw({"username": "operator", "password": "wrong-Pa55word"})).status == 401
    await env.token("operator")
    for _ in range(5):
        await env.login_raw({"username": "viewer", "password": "wrong-again"})
    assert (await env.login_raw({"username": "viewer", "password": PASSWORDS["viewer"]})).status == 429
    recs = records(audit_path(env))
    events = [(r["event"], r.get("user"), r["ok"]) for r in recs if r["event"].startswith("login.")]
    assert events[0] == ("login.failed", "operator", False)
    assert events[1] == ("login.succeeded", "operator", True)
    assert ("login.rate_limited", "viewer", False) in events
    for r in recs:
        assert r["source"] == "server" and r["event_code"].startswith("PA") and r["time"].endswith("Z")
    text = audit_path(env).read_text()
    for secret in (*PASSWORDS.values(), "wrong-Pa55word", "wrong-again", TURN_CREDENTIAL):
        assert secret not in text


async def test_refusals_each_have_their_own_code_in_the_audit(env: Env) -> None:
    await env.agent("edge-1")
    await env.agent("far-1", targets=[{"id": "secret-app"}])
    # No token, and an expired token: refused connects.
    for auth in (
        {},
        {
            "token": Tokens(grant.load_private_key(env.server.config.server.signing_key), 60).issue(
                "operator", "demo", now=time.time() - 3600
            )
        },
    ):
        with pytest.raises(socketio.exceptions.ConnectionError):
            await env.peer("/client").connect(env.url, auth)
    op = await env.client("operator")
    assert (await open_session(op, "far-1", "secret-app"))["error"]["code"] == "denied"  # another org
    assert (await open_session(op, "edge-1", "historian"))["error"]["code"] == "denied"  # no grant
    ok = await open_session(op, "edge-1", "plc-runtime")
    assert ok["ok"], ok
    await op.call("webrtc:disconnect", {"session_id": ok["session_id"], "reason": "bye"})

    recs = records(audit_path(env))
    connects = [r["code"] for r in recs if r["event"] == "connect.denied"]
    assert connects == ["no_token", "token_expired"], recs
    denied = [(r["reason"], r["device"], r["user"], r["org"]) for r in recs if r["event"] == "session.open_denied"]
    assert denied == [("other_org", "far-1", "operator", "demo"), ("no_grant", "edge-1", "operator", "demo")]
    opened = [r for r in recs if r["event"] == "session.opened"]
    assert [(r["session_id"], r["target"], r["mode"]) for r in opened] == [
        (ok["session_id"], "plc-runtime", "interactive")
    ]
    closed = [r for r in recs if r["event"] == "session.closed"]
    assert closed and closed[0]["session_id"] == ok["session_id"] and closed[0]["reason"] == "client"
    assert isinstance(closed[0]["duration_s"], float)
    assert all(r["ok"] is False for r in recs if r["event"] in ("connect.denied", "session.open_denied"))


async def _server(tmp_path: Path, extra: str) -> tuple[Server, Path]:
    path = write_config(tmp_path)
    path.write_text(path.read_text() + extra)
    server = Server(config_mod.load(path))
    await server.start()
    return server, path


@pytest.fixture
async def custom_env(tmp_path: Path):
    made: list[Env] = []

    async def make(extra: str) -> Env:
        import aiohttp

        d = tmp_path / f"s{len(made)}"
        d.mkdir()
        server, path = await _server(d, extra)
        e = Env(server, aiohttp.ClientSession(), path, [])
        made.append(e)
        return e

    yield make
    for e in made:
        for p in e.peers:
            await p.close()
        await e.http.close()
        await e.server.stop()


async def test_sync_audit_refuses_sessions_when_the_sink_fails(custom_env) -> None:
    # /dev/full: every write fails with ENOSPC, a real failing sink.
    sync = await custom_env('\n[audit]\nfile = "/dev/full"\nmode = "sync"\n')
    await sync.agent("edge-1")
    op = await sync.client("operator")
    ack = await open_session(op, "edge-1", "plc-runtime")
    assert ack["ok"] is False and ack["error"]["code"] == "audit_unavailable", ack
    assert await sync.server.store.count_sessions() == 0

    lenient = await custom_env('\n[audit]\nfile = "/dev/full"\nmode = "async"\n')
    await lenient.agent("edge-1")
    op2 = await lenient.client("operator")
    assert (await open_session(op2, "edge-1", "plc-runtime"))["ok"] is True


async def test_login_expiry_ends_live_sessions_when_the_policy_says_so(custom_env) -> None:
    env = await custom_env("\n[policy]\nend_sessions_on_login_expiry = true\n")
    agent = await env.agent("edge-1")
    key = grant.load_private_key(env.server.config.server.signing_key)
    # A token that expires in 1 s (plus the leeway), as if logged in long ago.
    short = Tokens(key, 60).issue("operator", "demo", now=time.time() - 59)
    op = env.peer("/client")
    await op.connect(env.url, {"token": short})
    ack = await open_session(op, "edge-1", "plc-runtime")
    assert ack["ok"], ack
    assert (await op.call("webrtc:offer", {"session_id": ack["session_id"], "type": "offer", "sdp": OFFER_SDP}))["ok"]
    await agent.next("webrtc:offer")
    bye = await op.next("webrtc:disconnect", timeout=grant.LEEWAY_S + 10)
    assert bye == {"session_id": ack["session_id"], "reason": "login_expired"}
    to_agent = await agent.next("webrtc:disconnect", timeout=5)
    assert to_agent == {"session_id": ack["session_id"], "reason": "login_expired"}
    closed = [r for r in records(audit_path(env)) if r["event"] == "session.closed"]
    assert closed[-1]["reason"] == "login_expired"


async def test_without_the_policy_sessions_outlive_the_login(custom_env) -> None:
    env = await custom_env("")
    agent = await env.agent("edge-1")
    key = grant.load_private_key(env.server.config.server.signing_key)
    short = Tokens(key, 60).issue("operator", "demo", now=time.time() - 59)
    op = env.peer("/client")
    await op.connect(env.url, {"token": short})
    ack = await open_session(op, "edge-1", "plc-runtime")
    await op.call("webrtc:offer", {"session_id": ack["session_id"], "type": "offer", "sdp": OFFER_SDP})
    await agent.next("webrtc:offer")
    await asyncio.sleep(grant.LEEWAY_S + 3)  # past the expiry: nothing may happen
    assert op.pending("webrtc:disconnect") == 0
    assert await env.server.store.get_session(ack["session_id"]) is not None


async def test_a_session_never_offered_is_audited_when_its_grant_expires(tmp_path: Path) -> None:
    # The shortest grant the config allows; no offer is ever sent for the session.
    server = Server(config_mod.load(write_config(tmp_path, grant_ttl_s=5)))
    await server.start()
    async with aiohttp.ClientSession() as http:
        env = Env(server, http, tmp_path / "server.toml", [])
        try:
            await env.agent("edge-1")
            op = await env.client("operator")
            ack = await open_session(op, "edge-1", "plc-runtime")
            assert ack["ok"], ack
            sid = ack["session_id"]

            def closed() -> list[dict]:
                return [r for r in records(audit_path(env)) if r["event"] == "session.closed"]

            # Nobody asks about the session again: the server's own sweep must end it.
            [rec] = await async_wait_for(closed, timeout=5 + EXPIRY_WAIT_S, message="session.closed in the audit")
            assert (rec["session_id"], rec["reason"], rec["offered"], rec["user"]) == (
                sid,
                "grant_expired",
                False,
                "operator",
            )
            assert rec["duration_s"] >= 5
            assert await server.store.count_sessions() == 0
            offer = await op.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": OFFER_SDP})
            assert offer["error"]["code"] == "session_not_found"
            async with http.get(env.url + "/metrics") as r:
                assert 'porthole_server_sessions_ended_total{reason="grant_expired"} 1.0' in await r.text()
        finally:
            for p in env.peers:
                await p.close()
            await server.stop()
