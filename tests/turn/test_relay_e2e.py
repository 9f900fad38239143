"""A terminal through a real coturn, on the whole real product.

Topology (tests/support/topology.py, relay_topology): the server and coturn
run in `cloud`; the agent (and the porthole-core it launches) in `dev`, with a
container; Chromium in `brw` (tests/turn/brw.py), which reaches `cloud` but
not `dev`, and aiortc there too (on a thread of its own). Only the relay joins
the two: the client gets its TURN credential in the session:open ack,
allocates on coturn, and the device's host candidate is reached through the
relay."""

from __future__ import annotations

import re
import subprocess

from tests.e2e.test_browser_terminal import login, open_terminal_in_page, pick_target, type_line, wait_text
from tests.support import product_client
from tests.support.coturn import start_coturn
from tests.support.fullstack import start_stack
from tests.support.topology import relay_topology
from tests.support.waiting import async_wait_for
from tests.turn.brw import pages_in, run_in

ALLOWED = "10.213.0.0-10.213.255.255"  # the test namespaces: what this deployment allows the relay to reach


async def assert_page_relayed(page, coturn) -> None:
    """No direct path exists: every pair that worked goes through the relay, the page says so (with the
    relay's protocol when its own end is the relayed one), and coturn allocated with the credentials
    minted for this session (the browser's, the device's or both)."""
    pairs = await page.evaluate(SUCCEEDED_PAIRS)
    assert pairs and all("relay" in p for p in pairs), pairs
    await async_wait_for(lambda: page.evaluate("porthole.state.localCandidateType"), 10, message="the pair")
    shown = await page.inner_text("[data-testid=candidate-pair]")
    assert "relay" in shown, shown
    if shown.startswith("relay"):
        assert re.match(r"relay \((udp|tcp)\) ", shown), shown
    sid = await page.evaluate("porthole.state.sessionId")
    assert coturn.allocations(sid) + coturn.allocations(sid + ".device") >= 1, coturn.log()[-2000:]


def turn_toml(coturn, secret_file) -> str:
    """The server's [server.turn] for this coturn."""
    urls = ", ".join(f'"{u}"' for u in coturn.urls)
    return f'\n[server.turn]\nurls = [{urls}]\nsecret_file = "{secret_file}"\n'


async def relayed_product(tmp_path, netns_factory, *, server_secret: str | None = None, agent_extra: str = ""):
    t = relay_topology(netns_factory)
    cloud_ip = t.link_of(t.cloud).ns_ip
    turn_dir = tmp_path / "turn"
    turn_dir.mkdir()
    coturn = start_coturn(turn_dir, cloud_ip, allowed_peers=(ALLOWED,), ns=t.cloud)
    (tmp_path / "turn.secret").write_text(server_secret or coturn.secret.decode())
    server_extra = turn_toml(coturn, tmp_path / "turn.secret")
    st = await start_stack(
        tmp_path,
        host=cloud_ip,
        server_ns=t.cloud,
        agent_ns=t.dev,
        ice_interfaces=[t.link_of(t.dev).ns_dev],
        server_extra=server_extra,
        agent_extra=agent_extra,
    )
    return t, coturn, st


async def test_terminal_in_chromium_through_the_relay(tmp_path, netns_factory, make_container):
    t, coturn, st = await relayed_product(tmp_path, netns_factory)
    try:
        c = make_container()
        async with pages_in(t.brw, tmp_path) as new_page:
            page = await open_terminal_in_page(new_page, st, c.name)
            await type_line(page, "echo relayed-$((6*7))")
            await wait_text(page, "relayed-42")
            await assert_page_relayed(page, coturn)
            assert await page.evaluate(HOST_ADDRESSES) == [t.link_of(t.brw).ns_ip]  # the browser is in brw
    finally:
        await st.stop()
        coturn.stop()


async def test_terminal_from_aiortc_through_the_relay(tmp_path, netns_factory, make_container):
    t, coturn, st = await relayed_product(tmp_path, netns_factory)
    cloud_ip, brw_ip = t.link_of(t.cloud).ns_ip, t.link_of(t.brw).ns_ip
    try:
        c = make_container()

        async def client_in_brw() -> None:
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
                conn = sctp.transport.transport._connection  # aioice (pinned)
                assert {x.host for x in conn.local_candidates if x.type == "host"} == {brw_ip}  # in brw
                pair = conn._nominated[1]  # the selected pair
                # The relay's address: no direct path exists.
                assert pair.local_candidate.type == "relay" or pair.remote_addr[0] == cloud_ip, pair
                assert coturn.allocations(s.id) >= 1
            finally:
                await s.close()

        await run_in(t.brw, client_in_brw)
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
        # Slow before it fails (ICE gives up after 30 s or more): the page already says why.
        slow = await async_wait_for(
            lambda: page.evaluate("porthole.state.slowHint"), 60, message="the page's hint while connecting"
        )
        assert await page.evaluate("porthole.state.session") == "connecting", slow
        assert slow.startswith("Still connecting after "), slow
        assert "TURN server refused this browser's credential (401)" in slow, slow
        assert await page.inner_text("[data-testid=slow-hint]") == slow
        await page.evaluate("porthole.waitState('session', 'failed', 90000)")
        assert not await page.is_visible("[data-testid=slow-hint]")  # the error banner says it now
        assert await page.evaluate("porthole.lastError") == "ice_failed"
        d = await page.evaluate("porthole.diagnosis")
        assert d["hasTurn"] and d["local"]["relay"] == 0 and 401 in [e["code"] for e in d["turnErrors"]], d
        message = await page.inner_text("[data-testid=error-message]")
        assert "TURN server refused this browser's credential (401)" in message, message
        assert coturn.allocations(await page.evaluate("porthole.state.sessionId")) == 0
    finally:
        await st.stop()
        coturn.stop()


async def test_relay_policy_selects_relayed_candidates_only(tmp_path, make_container, new_page, test_ip):
    # Everyone on one network where peer to peer works; the org's policy forbids it.
    turn_dir = tmp_path / "turn"
    turn_dir.mkdir()
    coturn = start_coturn(turn_dir, test_ip, allowed_peers=(test_ip,), relay_to_self=True)
    st = await start_stack(
        tmp_path,
        server_patch=(('[[orgs]]\nid = "demo"', '[[orgs]]\nid = "demo"\nice_transport_policy = "relay"'),),
        server_extra=turn_toml(coturn, turn_dir / "turn.secret"),
    )
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        await type_line(page, "echo policy-$((6*7))")
        await wait_text(page, "policy-42")
        pairs = await page.evaluate(SUCCEEDED_PAIRS)
        assert pairs and all(p == ["relay", "relay"] for p in pairs), pairs
        sid = await page.evaluate("porthole.state.sessionId")
        assert coturn.allocations(sid) >= 1 and coturn.allocations(sid + ".device") >= 1
    finally:
        await st.stop()
        coturn.stop()


async def test_udp_blocked_between_device_and_cloud_uses_the_tcp_relay(tmp_path, netns_factory, make_container):
    t, coturn, st = await relayed_product(tmp_path, netns_factory)
    dev_ip, cloud_ip = t.link_of(t.dev).ns_ip, t.link_of(t.cloud).ns_ip
    for a, b in ((dev_ip, cloud_ip), (cloud_ip, dev_ip)):
        subprocess.run(["iptables", "-w", "-I", "FORWARD", "-p", "udp", "-s", a, "-d", b, "-j", "DROP"], check=True)
    try:
        c = make_container()
        async with pages_in(t.brw, tmp_path) as new_page:
            page = await open_terminal_in_page(new_page, st, c.name)
            await type_line(page, "echo tcp-relayed-$((6*7))")
            await wait_text(page, "tcp-relayed-42")
            # The device reached coturn over TCP only: its relayed candidate is the one in use.
            pairs = await page.evaluate(SUCCEEDED_PAIRS)
            assert any(p[1] == "relay" for p in pairs), pairs
            assert coturn.allocations(await page.evaluate("porthole.state.sessionId") + ".device") >= 1
    finally:
        for a, b in ((dev_ip, cloud_ip), (cloud_ip, dev_ip)):
            subprocess.run(["iptables", "-w", "-D", "FORWARD", "-p", "udp", "-s", a, "-d", b, "-j", "DROP"])
        await st.stop()
        coturn.stop()


# The addresses of the page's own host candidates, from its getStats(): the namespace it runs in.
HOST_ADDRESSES = """async () => {
  const stats = await porthole.pc.getStats();
  const out = new Set();
  stats.forEach((r) => {
    // "::" / "0.0.0.0": an active TCP candidate, bound to no address of its own.
    if (r.type === "local-candidate" && r.candidateType === "host" && !["::", "0.0.0.0"].includes(r.address))
      out.add(r.address);
  });
  return [...out];
}"""


# [local, remote] candidate types of every succeeded candidate pair, from the page's getStats().
SUCCEEDED_PAIRS = """async () => {
  const stats = await porthole.pc.getStats();
  const out = [];
  stats.forEach((r) => {
    if (r.type === "candidate-pair" && r.state === "succeeded")
      out.push([stats.get(r.localCandidateId).candidateType, stats.get(r.remoteCandidateId).candidateType]);
  });
  return out;
}"""
