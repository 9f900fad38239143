"""ICE restart (issue 11): the whole product (real server, agent, Docker), its
porthole-core in a network namespace of its own behind a veth pair, the real
page in Chromium in the test namespace. The link goes down for 40 s while
signaling stays up: ICE fails on both sides, the page makes restart offers by
itself, porthole-core answers them on the same peer connection, and once the
link is back the same shell answers (`echo $$` prints the same pid).

pion declares ICE failed 30 s after the last packet (5 s disconnected + 25 s
failed, its defaults); porthole-core then waits rtc.ICERestartWait (60 s) for
a restart before it closes the session, so a 40 s cut is survived with the
defaults, nothing shortened for the test."""

from __future__ import annotations

import asyncio
import re
import time

from tests.e2e.test_browser_terminal import open_terminal_in_page, terminal_text, type_line
from tests.support.fullstack import start_stack
from tests.support.stack import core_binary

OUTAGE_S = 40.0


async def pid_of(page, tag: str, timeout: float = 15.0) -> int:
    await type_line(page, f"echo pid-$$-{tag}")
    deadline = time.monotonic() + timeout
    while not (found := re.findall(rf"^pid-(\d+)-{tag}$", await terminal_text(page), flags=re.M)):
        assert time.monotonic() < deadline, (await terminal_text(page))[-800:]
        await asyncio.sleep(0.1)
    return int(found[-1])


async def state(page, key: str):
    return await page.evaluate(f"porthole.state[{key!r}]")


async def wait_ice(page, wanted: tuple[str, ...], timeout: float) -> float:
    start = time.monotonic()
    while (st := await state(page, "ice")) not in wanted:
        assert time.monotonic() - start < timeout, f"ICE state {st!r}, not {wanted}"
        await asyncio.sleep(0.1)
    return time.monotonic() - start


async def test_link_down_40s_page_restarts_ice_same_shell(tmp_path, make_container, netns_factory, new_page):
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    st = await start_stack(tmp_path, core_binary_path=dev.wrap(core_binary(), tmp_path), ice_interfaces=[link.ns_dev])
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        sid = await page.evaluate("porthole.state.sessionId")
        before = await pid_of(page, "a")

        link.down()
        down_at = time.monotonic()
        await wait_ice(page, ("disconnected", "failed"), 30)
        # Signaling is up the whole time: the page restarts ICE by itself (no path yet).
        while await state(page, "iceRestarts") < 1:
            assert time.monotonic() - down_at < OUTAGE_S, "no ICE restart while the link was down"
            await asyncio.sleep(0.2)
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        assert await state(page, "ice") not in ("connected", "completed"), "the link is not on the path"
        restarts_while_down = await state(page, "iceRestarts")
        link.up()
        recovered_s = await wait_ice(page, ("connected", "completed"), 60)
        print(
            f"ICE back {recovered_s:.1f} s after the link came back; restarts while down: {restarts_while_down}, "
            f"after: {await state(page, 'iceRestarts') - restarts_while_down}"
        )

        after = await pid_of(page, "b")
        assert after == before, "a new shell: the session was not kept"
        assert await state(page, "channel") == "open"
        assert await page.evaluate("porthole.state.sessionId") == sid
        restarts = [r for r in st.audit() if r["event"] == "session.ice_restarted" and r.get("session_id") == sid]
        assert restarts, "no session.ice_restarted audit record"
        ended = [
            r for r in st.audit() if r["event"] in ("session.ended", "session.closed") and r.get("session_id") == sid
        ]
        assert ended == [], ended
    finally:
        await st.stop()


async def test_network_change_restart_keeps_the_shell(tmp_path, make_container, new_page):
    """An ICE restart while the path is fine (a network change, `porthole.restartIce()`):
    new ICE credentials on the same peer connection, the same shell, nothing lost."""
    st = await start_stack(tmp_path)
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        before = await pid_of(page, "a")
        await page.evaluate("porthole.restartIce()")
        deadline = time.monotonic() + 20
        while await state(page, "iceRestarts") < 1:
            assert time.monotonic() < deadline, "no restart"
            await asyncio.sleep(0.1)
        await wait_ice(page, ("connected", "completed"), 20)
        assert await pid_of(page, "b") == before
        agent_log = st.log("agent")
        assert "ICE restarted by the peer" in agent_log and "ICE restart answered" in agent_log
    finally:
        await st.stop()
