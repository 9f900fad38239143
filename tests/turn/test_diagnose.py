"""`porthole ctl diagnose` on a session that failed because TURN was down.

relay_topology (tests/support/topology.py): the device (`dev`) cannot reach
the client directly, only through coturn in `cloud`. coturn is stopped before
the session opens, so the device's allocation fails, ICE fails, the agent ends
the session (ice_failed) — and afterwards `ctl diagnose SID` still names the
cause from the diagnosis the agent kept."""

from __future__ import annotations

import asyncio

import socketio

from tests.ctl.test_ctl import ctl
from tests.support import product_client
from tests.support.rtc_client import TerminalClient
from tests.support.waiting import async_wait_for
from tests.turn.test_relay_e2e import relayed_product

ADMIN = '[admin]\nsocket = "admin.sock"\nmetrics_listen = "127.0.0.1:0"\n'
# pion fails ICE 30 s after checking starts (5 s disconnected + 25 s failed);
# the agent's own setup deadline is 45 s: well within this.
FAILED_WITHIN_S = 120.0
CALL_TIMEOUT_S = 30.0


async def offer_only(url: str, token: str, device_id: str, target_id: str):
    """session:open and an aiortc offer, without waiting for the connection: (sid, client, sio)."""
    sio = socketio.AsyncClient(reconnection=False)
    answers: asyncio.Queue = asyncio.Queue()
    sio.on("webrtc:answer", answers.put_nowait, namespace="/client")
    await sio.connect(url, namespaces=["/client"], auth={"token": token}, transports=["websocket"])
    ack = await sio.call(
        "session:open", {"device_id": device_id, "target_id": target_id}, namespace="/client", timeout=CALL_TIMEOUT_S
    )
    assert ack["ok"], ack
    # No TURN for this client (its relay is down too): the device's failure is what is looked at.
    client = TerminalClient()
    offer = {"session_id": ack["session_id"], "type": "offer", "sdp": await client.offer()}
    assert (await sio.call("webrtc:offer", offer, namespace="/client", timeout=CALL_TIMEOUT_S))["ok"]
    answer = await asyncio.wait_for(answers.get(), CALL_TIMEOUT_S)
    await client.accept(answer["sdp"])
    return ack["session_id"], client, sio


async def test_ctl_diagnose_names_turn_down_after_the_session_failed(tmp_path, netns_factory, make_container):
    _, coturn, st = await relayed_product(tmp_path, netns_factory, agent_extra=ADMIN)
    sock = st.dc.directory / "admin.sock"
    client = sio = None
    try:
        c = make_container()
        token = await product_client.login(st.url, st.username, st.password)
        coturn.stop()  # TURN is down: the device's allocation cannot succeed
        sid, client, sio = await offer_only(st.url, token, st.device_id, c.name)

        async def ended():
            r = await ctl("diagnose", sid, "--json", socket=sock)
            return r if r.out and not r.json()["live"] else None

        r = await async_wait_for(ended, FAILED_WITHIN_S, interval=1.0, message="the session to fail")
        d = r.json()
        assert r.code == 1, r  # something is wrong: exit 1, as `ctl health` when not ok
        assert d["end_reason"] == "ice_failed", d
        assert any(u.startswith("turn:") for u in d["ice_server_urls"]), d
        ice = d["ice"]
        assert ice["turn_configured"] and ice["turn_allocation"] == "failed", ice
        assert ice["relay_candidates"] == 0 and ice["host_candidates"] >= 1, ice
        assert ice["pairs"] and not any(p["state"] == "succeeded" for p in ice["pairs"]), ice["pairs"]
        assert d["hints"][0].startswith(
            "TURN configured for this session but no relay candidate: the allocation failed (unreachable or refused)"
        ), d["hints"]

        words = await ctl("diagnose", sid, socket=sock)
        assert words.code == 1, words
        assert "FAILED: TURN configured but no relay candidate" in words.out, words.out
        assert "the allocation failed (unreachable or refused)" in words.out, words.out
        assert "candidate pairs" in words.out and "host" in words.out, words.out
        # URLs only: neither the TURN secret nor the device's credential (HMAC of it) is shown.
        assert coturn.secret.decode() not in words.out + r.out

        unknown = await ctl("diagnose", "never-was", socket=sock)
        assert unknown.code == 1 and "none that failed recently" in unknown.err, unknown
    finally:
        if client is not None:
            await client.close()
        if sio is not None:
            await sio.disconnect()
        await st.stop()
        coturn.stop()
