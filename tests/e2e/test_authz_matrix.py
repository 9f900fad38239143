"""The authorization matrix on the whole real product (real server, agent,
porthole-core, Docker; aiortc as the client): each case is refused with its
own code, audited where it was refused, and no exec is created.

A replayed grant cannot be sent through the real server (it keeps the grant
and accepts one offer per session): that case, and forged grants, are in
tests/agent/test_terminal.py against a hub that plays a malicious server."""

from __future__ import annotations

import asyncio
import json
import secrets
import time

import aiohttp
import pytest
import socketio

from porthole import grant
from porthole.server import passwords
from porthole.server.auth import Tokens
from tests.agent.test_terminal import exec_ids
from tests.support.fullstack import start_stack
from tests.support.rtc_client import TerminalClient


def audit(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


@pytest.fixture
async def product(tmp_path):
    outsider_pw = secrets.token_urlsafe(18)
    (tmp_path / "outsider.password").write_text(outsider_pw)  # the secrets scan looks for it in every log
    server_extra = f"""
[[orgs]]
id = "elsewhere"

[[users]]
name = "outsider"
org = "elsewhere"
password_hash = "{passwords.hash_password(outsider_pw, n=2**8)}"

[[users.grants]]
devices = ["*"]
targets = ["*"]
"""
    st = await start_stack(tmp_path, server_extra=server_extra)
    yield st.dc, st.dc.directory, outsider_pw
    await st.stop()


async def login(http, url, user, password) -> str:
    async with http.post(url + "/api/login", json={"username": user, "password": password}) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["token"]


async def connect(url, token):
    sio = socketio.AsyncClient(reconnection=False)
    errors: list = []
    failed: asyncio.Queue = asyncio.Queue()
    sio.on("connect_error", errors.append, namespace="/client")
    sio.on("webrtc:error", failed.put_nowait, namespace="/client")
    await sio.connect(
        url, namespaces=["/client"], auth={"token": token} if token else {}, transports=["websocket"], wait_timeout=10
    )
    return sio, failed


async def test_each_refusal_has_its_own_code_is_audited_and_creates_no_exec(product, make_container):
    dc, dev, outsider_pw = product
    c = make_container()
    other = make_container(name=f"unlisted-{secrets.token_hex(3)}")  # not in the agent's targets.containers
    # Server and agent configs share the devconfig folder, so one audit.jsonl holds both (see "source").
    server_audit = agent_audit = dev / "audit.jsonl"
    async with aiohttp.ClientSession() as http:
        token = await login(http, dc.url, dc.username, dc.password)
        sio, failed = await connect(dc.url, token)
        try:
            async with asyncio.timeout(15):
                while not any(
                    t["id"] == c.name
                    for d in (await sio.call("devices:list", namespace="/client"))["devices"]
                    for t in d["targets"]
                ):
                    await asyncio.sleep(0.3)

            # 1. No token, 2. an expired token: the server refuses the connection.
            key = grant.load_private_key(dc.signing_key)
            expired = Tokens(key, 60).issue(dc.username, "demo", now=time.time() - 3600)
            for bad in (None, expired):
                with pytest.raises(socketio.exceptions.ConnectionError):
                    await connect(dc.url, bad)

            # 3. Another org: refused at session:open.
            out_sio, _ = await connect(dc.url, await login(http, dc.url, "outsider", outsider_pw))
            ack = await out_sio.call(
                "session:open", {"device_id": dc.device_id, "target_id": c.name}, namespace="/client"
            )
            await out_sio.disconnect()
            assert ack["ok"] is False and ack["error"]["code"] == "denied", ack

            # 4. A container the device does not offer: the server finds no such target.
            ack = await sio.call(
                "session:open", {"device_id": dc.device_id, "target_id": other.name}, namespace="/client"
            )
            assert ack["ok"] is False and ack["error"]["code"] == "target_not_found", ack

            # 5. Root asked for: the device refuses the offer.
            ack = await sio.call(
                "session:open", {"device_id": dc.device_id, "target_id": c.name, "user": "root"}, namespace="/client"
            )
            assert ack["ok"], ack
            client = TerminalClient()
            await sio.call(
                "webrtc:offer",
                {"session_id": ack["session_id"], "type": "offer", "sdp": await client.offer()},
                namespace="/client",
            )
            err = await asyncio.wait_for(failed.get(), 15)
            await client.close()
            assert (err["session_id"], err["code"]) == (ack["session_id"], "root_denied"), err
        finally:
            await sio.disconnect()

    assert exec_ids(c) == [] and exec_ids(other) == []
    recs = audit(server_audit)
    assert [r["code"] for r in recs if r["event"] == "connect.denied"] == ["no_token", "token_expired"]
    open_denied = [(r["reason"], r["user"]) for r in recs if r["event"] == "session.open_denied"]
    assert open_denied == [("other_org", "outsider"), ("target_not_found", "operator")], open_denied
    agent_recs = [r for r in audit(agent_audit) if r["source"] == "agent"]
    denied = [r for r in agent_recs if r["event"] == "session.denied"]
    assert [(r["code"], r["session_id"], r["user"]) for r in denied] == [
        ("root_denied", ack["session_id"], dc.username)
    ]
