"""A terminal through a real coturn, on the whole real product.

Topology (tests/support/topology.py, relay_topology): the server and coturn
run in `cloud`; the agent (and the porthole-core it launches) in `dev`, with a
container; the browser side is the test namespace itself, which reaches
`cloud` but receives nothing from `dev` (and `dev` nothing from it). Only the
relay joins the two: Chromium gets its TURN credential in the session:open
ack, allocates on coturn, and the device's host candidate is reached through
the relay."""

from __future__ import annotations

import re

from tests.e2e.test_browser_terminal import login, open_terminal_in_page, pick_target, type_line, wait_text
from tests.support import product_client
from tests.support.coturn import start_coturn
from tests.support.fullstack import start_stack
from tests.support.topology import relay_topology

ALLOWED = "10.213.0.0-10.213.255.255"  # the test namespaces: what this deployment allows the relay to reach


async def relayed_product(tmp_path, netns_factory, *, server_secret: str | None = None):
    t = relay_topology(netns_factory)
    cloud_ip = t.link_of(t.cloud).ns_ip
    turn_dir = tmp_path / "turn"
    turn_dir.mkdir()
    coturn = start_coturn(turn_dir, cloud_ip, allowed_peers=(ALLOWED,), ns=t.cloud)
    (tmp_path / "turn.secret").write_text(server_secret or coturn.secret.decode())
    server_extra = f"""
[server.turn]
urls = {list(coturn.urls)!r}
secret_file = "{tmp_path / "turn.secret"}"
""".replace("'", '"')
    st = await start_stack(
        tmp_path,
        host=cloud_ip,
        server_ns=t.cloud,
        agent_ns=t.dev,
        ice_interfaces=[t.link_of(t.dev).ns_dev],
        server_extra=server_extra,
    )
    return t, coturn, st


async def test_terminal_in_chromium_through_the_relay(tmp_path, netns_factory, make_container, new_page, request):
    _, coturn, st = await relayed_product(tmp_path, netns_factory)
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        await type_line(page, "echo relayed-$((6*7))")
        await wait_text(page, "relayed-42")
        await page.evaluate("porthole.waitState('localCandidateType', 'relay', 10000)")
        pair = await page.inner_text("[data-testid=candidate-pair]")
        assert re.match(r"relay \((udp|tcp)\) ", pair), pair
        sid = await page.evaluate("porthole.state.sessionId")
        assert coturn.allocations(sid) >= 1, coturn.log()[-2000:]  # with the browser's own credential
    finally:
        await st.stop()
        coturn.stop()


async def test_terminal_from_aiortc_through_the_relay(tmp_path, netns_factory, make_container):
    _, coturn, st = await relayed_product(tmp_path, netns_factory)
    try:
        c = make_container()
        token = await product_client.login(st.url, st.username, st.password)
        s = await product_client.open_terminal(st.url, token, st.device_id, c.name)
        # The credential minted for this client: the run's secrets scan checks no log holds it.
        minted = [x["credential"] for x in s.ack["ice_servers"] if "credential" in x]
        assert minted
        (tmp_path / "minted-turn.secret").write_text(minted[0])
        try:
            s.client.type("echo aiortc-relayed-$((6*7))\r")
            await s.client.wait_output("aiortc-relayed-42")
            sctp = s.client.pc.sctp
            assert sctp is not None
            pair = sctp.transport.transport._connection._nominated[1]  # aioice (pinned): the selected pair
            assert pair.local_candidate.type == "relay", pair
            assert coturn.allocations(s.id) >= 1
        finally:
            await s.close()
    finally:
        await st.stop()
        coturn.stop()


async def test_page_says_why_when_the_turn_credential_is_refused(tmp_path, netns_factory, make_container, new_page):
    # The Porthole server and coturn do not share the secret: every minted credential gets 401.
    _, coturn, st = await relayed_product(tmp_path, netns_factory, server_secret="not-the-coturn-secret-0123456789")
    try:
        c = make_container()
        page = await new_page(viewport={"width": 900, "height": 600})
        await login(page, st)
        await pick_target(page, st, c.name)
        await page.click("[data-testid=open-terminal]")
        await page.evaluate("porthole.waitState('session', 'failed', 90000)")
        assert await page.evaluate("porthole.lastError") == "ice_failed"
        d = await page.evaluate("porthole.diagnosis")
        assert d["hasTurn"] and d["local"]["relay"] == 0 and 401 in [e["code"] for e in d["turnErrors"]], d
        message = await page.inner_text("[data-testid=error-message]")
        assert "TURN server refused this browser's credential (401)" in message, message
        assert coturn.allocations(await page.evaluate("porthole.state.sessionId")) == 0
    finally:
        await st.stop()
        coturn.stop()
