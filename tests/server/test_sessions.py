"""session:open: authorization, device and target checks, the signed grant."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import aiohttp
import pytest

from porthole import grant
from porthole.events import EventBus
from porthole.server import config as config_mod
from porthole.server.app import Server
from porthole.server.hub import Hub
from porthole.server.memstore import MemoryStore
from porthole.server.sessions import Session

from .conftest import OFFER_SDP, TURN_SECRET, Env, open_session, write_config


def code(ack: dict) -> str:
    assert ack["ok"] is False, ack
    return ack["error"]["code"]


async def test_open_denied_for_other_org_and_ungranted_targets(env: Env) -> None:
    await env.agent("edge-1")
    await env.agent("far-1", targets=[{"id": "secret-app"}])
    op = await env.client("operator")
    assert code(await open_session(op, "far-1", "secret-app")) == "denied"  # other org
    assert code(await open_session(op, "edge-1", "historian")) == "denied"  # no grant for it
    assert code(await open_session(op, "nope", "plc-runtime")) == "denied"  # unknown device: no probing
    assert code(await open_session(op, "edge-1", "plc-runtime", kind="screen")) == "denied"  # kind
    outsider = await env.client("outsider")
    assert code(await open_session(outsider, "edge-1", "plc-runtime")) == "denied"
    viewer = await env.client("viewer")
    assert code(await open_session(viewer, "edge-1", "plc-runtime", mode="interactive")) == "denied"


async def test_open_device_offline_and_target_not_found(env: Env) -> None:
    await env.agent("edge-1")
    op = await env.client("operator")
    assert code(await open_session(op, "edge-2", "plc-runtime")) == "device_offline"
    assert code(await open_session(op, "edge-1", "plc-gone")) == "target_not_found"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "edge-1",
        {"target_id": "plc-runtime"},
        {"device_id": "edge-1"},
        {"device_id": "edge-1", "target_id": "plc-runtime", "kind": "video"},
        {"device_id": "edge-1", "target_id": "plc-runtime", "cols": 0},
        {"device_id": "edge-1", "target_id": "plc-runtime", "rows": 1001},
        {"device_id": "edge-1", "target_id": "plc-runtime", "cols": "80"},
        {"device_id": "edge-1", "target_id": "plc-runtime", "cols": True},
        {"device_id": "edge-1", "target_id": "plc-runtime", "mode": "root"},
        {"device_id": ["edge-1"], "target_id": "plc-runtime"},
    ],
)
async def test_open_bad_requests(env: Env, payload) -> None:
    await env.agent("edge-1")
    op = await env.client("operator")
    assert code(await op.call("session:open", payload)) == "bad_request"


def assert_minted(server: dict, *, principal: str) -> None:
    """A TURN REST API credential for this principal, from the shared secret, expiring with the login."""
    assert server["urls"] == ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]
    expiry, who = server["username"].split(":", 1)
    assert who == principal
    # Past the grant (60 s), within the login (900 s by default): see server/ice.py.
    assert time.time() + 55 < int(expiry) <= time.time() + 900 + 5
    mac = hmac.new(TURN_SECRET.encode(), server["username"].encode(), hashlib.sha1).digest()
    assert server["credential"] == base64.b64encode(mac).decode()


async def test_open_ok_and_the_relayed_grant_verifies(env: Env) -> None:
    agent = await env.agent("edge-1")
    op = await env.client("operator")
    ack = await open_session(op, cols=120, rows=40)
    assert ack["ok"] is True and ack["mode"] == "interactive"
    sid = ack["session_id"]
    assert sid.startswith("s_") and len(sid) > 16
    stun, browser_turn = ack["ice_servers"]
    assert stun == {"urls": ["stun:127.0.0.1:3478"]} and ack["ice_transport_policy"] == "all"
    assert_minted(browser_turn, principal=sid)
    assert await op.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": OFFER_SDP}) == {"ok": True}
    offer = await agent.next("webrtc:offer")
    assert set(offer) == {"session_id", "type", "sdp", "grant", "cols", "rows", "ice_servers", "ice_transport_policy"}
    # The device gets a credential of its own, never the browser's.
    assert offer["ice_servers"][0] == stun and offer["ice_transport_policy"] == "all"
    assert_minted(offer["ice_servers"][1], principal=sid + ".device")
    assert offer["ice_servers"][1]["credential"] != browser_turn["credential"]
    assert (offer["session_id"], offer["type"], offer["sdp"], offer["cols"], offer["rows"]) == (
        sid,
        "offer",
        OFFER_SDP,
        120,
        40,
    )
    public = grant.load_public_key(env.config_path.parent / "key.pub.pem")
    g = grant.verify(offer["grant"], public, device_id="edge-1")
    assert (g.session_id, g.user, g.org, g.device_id, g.target_id, g.kind, g.mode) == (
        sid,
        "operator",
        "demo",
        "edge-1",
        "plc-runtime",
        "terminal",
        "interactive",
    )
    assert g.expires_at - g.issued_at == 60
    with pytest.raises(grant.PortholeError) as e:
        grant.verify(offer["grant"], public, device_id="edge-2")
    assert e.value.code == "grant_wrong_device"


async def test_viewer_gets_a_view_grant(env: Env) -> None:
    agent = await env.agent("edge-1")
    viewer = await env.client("viewer")
    ack = await open_session(viewer, "edge-1", "historian")
    assert ack["ok"] and ack["mode"] == "view"
    await viewer.call("webrtc:offer", {"session_id": ack["session_id"], "type": "offer", "sdp": OFFER_SDP})
    offer = await agent.next("webrtc:offer")
    assert offer["cols"] == 80 and offer["rows"] == 24
    public = grant.load_public_key(env.config_path.parent / "key.pub.pem")
    assert grant.verify(offer["grant"], public, device_id="edge-1").mode == "view"


async def test_too_many_sessions(tmp_path) -> None:
    server = Server(config_mod.load(write_config(tmp_path, max_sessions_per_user=2)))
    await server.start()
    async with aiohttp.ClientSession() as http:
        env = Env(server, http, tmp_path / "server.toml", [])
        try:
            await env.agent("edge-1")
            op = await env.client()
            assert (await open_session(op))["ok"]
            second = await open_session(op)
            assert second["ok"]
            assert code(await open_session(op)) == "too_many_sessions"
            # Ending one frees a slot.
            await op.call("webrtc:disconnect", {"session_id": second["session_id"], "reason": "bye"})
            assert (await open_session(op))["ok"]
        finally:
            for p in env.peers:
                await p.close()
            await server.stop()


async def test_unoffered_sessions_expire_with_their_grant() -> None:
    now = [1000.0]
    store = MemoryStore()
    bus = EventBus()
    closed: list[tuple[str | None, object]] = []
    bus.subscribe(lambda ev: closed.append((ev.session_id, ev.fields.get("reason"))))
    hub = Hub(None, None, store, bus, clock=lambda: now[0])  # type: ignore[arg-type]  # no emits here

    def make(sid: str) -> Session:
        return Session(
            id=sid,
            user="u",
            org="o",
            device_id="d",
            target_id="t",
            kind="terminal",
            mode="view",
            client_sid="c",
            agent_sid="a",
            grant="g",
            cols=80,
            rows=24,
            created_at=now[0],
            offer_deadline=now[0] + 60,
        )

    for sid in ("s_a", "s_b", "s_c"):
        await store.add_session(make(sid))
    assert await store.mark_offered("s_b") == []
    now[0] += 61
    assert await hub.session("s_a") is None  # never offered: gone with its grant, and published
    assert await hub.session("s_b") is not None  # offered sessions live until they end
    assert closed == [("s_a", "grant_expired")]
    await hub.expire_unoffered()  # the periodic sweep finds the one nobody asked for
    assert closed == [("s_a", "grant_expired"), ("s_c", "grant_expired")]
    assert await store.count_sessions("u") == 1


async def test_expired_token_stops_new_sessions_until_refreshed(env: Env) -> None:
    await env.agent("edge-1")
    op = await env.client("operator")
    [conn] = await env.server.store.clients()
    await env.server.store.set_client_expiry(conn.sid, 0)  # as if the login token had run out meanwhile
    assert code(await op.call("devices:list")) == "unauthenticated"
    assert code(await open_session(op)) == "unauthenticated"
    assert code(await op.call("auth:refresh", {"token": "garbage"})) == "unauthenticated"
    assert code(await op.call("auth:refresh", {"token": await env.token("viewer")})) == "unauthenticated"
    ack = await op.call("auth:refresh", {"token": await env.token("operator")})
    assert ack["ok"] and ack["expires_at"] > 0
    assert (await open_session(op))["ok"]


async def test_relay_policy_per_org_with_the_device_overriding(tmp_path) -> None:
    path = write_config(tmp_path)
    text = path.read_text().replace('[[orgs]]\nid = "demo"', '[[orgs]]\nid = "demo"\nice_transport_policy = "relay"')
    text = text.replace('id = "edge-2"', 'id = "edge-2"\nice_transport_policy = "all"')  # the device wins
    path.write_text(text)
    cfg = config_mod.load(path)
    from porthole.server import ice

    assert ice.transport_policy(cfg, "edge-1") == "relay"
    assert ice.transport_policy(cfg, "edge-2") == "all"
    assert ice.transport_policy(cfg, "far-1") == "all"  # another org
    assert ice.transport_policy(cfg, "unknown") == "all"
