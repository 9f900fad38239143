"""GET /metrics on the server: Prometheus text that counts connections,
sessions opened and failed by code, and logins; loopback only unless a
bearer token is configured."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from porthole.server import config as config_mod
from porthole.server.app import Server

from .conftest import OFFER_SDP, PASSWORDS, TURN_CREDENTIAL, Env, open_session, write_config

TOKEN = "metrics-token-0123456789abcdef"


def parse(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(env: Env, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with env.http.get(env.url + "/metrics", headers=headers or {}) as r:
        return r.status, await r.text()


async def test_metrics_count_connections_sessions_and_logins(env: Env) -> None:
    status, text = await scrape(env)
    assert status == 200, text
    m = parse(text)
    assert m[("porthole_server_agents_connected", ())] == 0
    assert m[("porthole_server_logins_total", (("result", "ok"),))] == 0

    agent = await env.agent("edge-1")
    client = await env.client("operator")  # one good login
    r = await env.login_raw({"username": "operator", "password": "wrong"})
    assert r.status == 401
    ack = await open_session(client)
    assert ack["ok"], ack
    sid = ack["session_id"]
    denied = await open_session(client, target_id="historian")  # no grant names it
    assert denied["ok"] is False
    assert await client.call("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": OFFER_SDP}) == {"ok": True}
    await agent.next("webrtc:offer")
    assert await agent.call("webrtc:error", {"session_id": sid, "code": "ice_failed", "message": "no pair"}) == {
        "ok": True
    }
    await client.next("webrtc:error")

    status, text = await scrape(env)
    assert status == 200
    m = parse(text)
    assert m[("porthole_server_agents_connected", ())] == 1
    assert m[("porthole_server_clients_connected", ())] == 1
    assert m[("porthole_server_sessions_open", ())] == 0
    assert m[("porthole_server_sessions_opened_total", (("kind", "terminal"),))] == 1
    assert m[("porthole_server_sessions_failed_total", (("code", denied["error"]["code"]),))] == 1
    assert m[("porthole_server_sessions_failed_total", (("code", "ice_failed"),))] == 1
    assert m[("porthole_server_sessions_ended_total", (("reason", "device_error"),))] == 1
    assert m[("porthole_server_logins_total", (("result", "ok"),))] == 1
    assert m[("porthole_server_logins_total", (("result", "failed"),))] == 1
    # Nothing secret in it.
    for secret in (*PASSWORDS.values(), TURN_CREDENTIAL, sid):
        assert secret not in text


async def test_metrics_outside_loopback_are_refused(tmp_path, test_ip) -> None:
    server = Server(config_mod.load(write_config(tmp_path, listen=f"{test_ip}:0")))
    await server.start()
    try:
        async with aiohttp.ClientSession() as http, http.get(f"http://{test_ip}:{server.port}/metrics") as r:
            assert r.status == 403
            assert "loopback only" in await r.text()
    finally:
        await server.stop()


async def test_metrics_with_a_bearer_token(tmp_path) -> None:
    (tmp_path / "metrics.token").write_text(TOKEN + "\n")
    server = Server(config_mod.load(write_config(tmp_path, metrics_token_file="metrics.token")))
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            url = server.url + "/metrics"
            async with http.get(url) as r:
                assert r.status == 401 and r.headers["WWW-Authenticate"] == "Bearer"
            async with http.get(url, headers={"Authorization": "Bearer wrong-token-0123456789"}) as r:
                assert r.status == 401
            async with http.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as r:
                assert r.status == 200
                assert "porthole_server_sessions_opened_total" in await r.text()
    finally:
        await server.stop()
