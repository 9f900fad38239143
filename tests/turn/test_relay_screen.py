"""A screen through a real coturn, on the whole real product.

The topology of test_relay_e2e.py (tests/support/topology.py, relay_topology):
the server and coturn in `cloud`, the agent and its porthole-core in `dev`,
Chromium and aiortc in `brw` (tests/turn/brw.py), with no path to `dev`. The
screen is an Xvfb started here: its unix socket file (/tmp/.X11-unix) is seen
from every network namespace (tests/support/xserver.py), and porthole-core
captures it through MIT-SHM on the same host. Only the relay
carries the VP8 track from `dev` to the receiver."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser_terminal import login, pick_target
from tests.screen.client import near
from tests.screen.test_screen_browser import wait_picture, wait_state
from tests.support import product_client, xserver
from tests.support.coturn import start_coturn
from tests.support.fullstack import start_stack
from tests.support.topology import relay_topology
from tests.turn.brw import pages_in, run_in
from tests.turn.test_relay_e2e import ALLOWED, assert_page_relayed, turn_toml

SCREEN_ID = "desk"
# The display and the stream: the stream at a quarter of the display's pixels and 15 fps, so that
# VP8 encoding (and Chromium's decoding) stays light on a loaded 2-core machine; the scaling is
# exercised as well.
DISPLAY_W, DISPLAY_H = 1280, 720
STREAM_W, STREAM_H, STREAM_FPS = 640, 360, 15
# Through the relay on a loaded machine, the first frame takes longer than on a direct path.
FRAME_TIMEOUT_S = 40.0
RED, BLUE, GREEN, YELLOW = (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0)


@pytest.fixture
def xvfb():
    x = xserver.start_shared(DISPLAY_W, DISPLAY_H)
    yield x
    x.stop()


async def relayed_screen(tmp_path, netns_factory, xvfb):
    """relay_topology, coturn in `cloud`, and the product with the Xvfb as its only target."""
    t = relay_topology(netns_factory)
    cloud_ip = t.link_of(t.cloud).ns_ip
    turn_dir = tmp_path / "turn"
    turn_dir.mkdir()
    coturn = start_coturn(turn_dir, cloud_ip, allowed_peers=(ALLOWED,), ns=t.cloud)
    secret = tmp_path / "turn.secret"
    secret.write_text(coturn.secret.decode())
    try:
        st = await start_stack(
            tmp_path,
            targets="[targets]\ndocker = false\n",
            agent_extra=f"""
[[screens]]
id = "{SCREEN_ID}"
name = "Relayed desk"
display = "{xvfb.display}"
width = {STREAM_W}
height = {STREAM_H}
fps = {STREAM_FPS}
""",
            host=cloud_ip,
            server_ns=t.cloud,
            agent_ns=t.dev,
            ice_interfaces=[t.link_of(t.dev).ns_dev],
            server_extra=turn_toml(coturn, secret),
        )
    except BaseException:
        coturn.stop()
        raise
    return t, coturn, st


async def test_screen_in_chromium_through_the_relay(tmp_path, netns_factory, xvfb):
    t, coturn, st = await relayed_screen(tmp_path, netns_factory, xvfb)
    try:
        async with pages_in(t.brw, tmp_path) as new_page:
            await _screen_in_page(new_page, xvfb, st, coturn)
    finally:
        await st.stop()
        coturn.stop()


async def _screen_in_page(new_page, xvfb, st, coturn) -> None:
    xvfb.halves("#ff0000", "#0000ff")
    page = await new_page(viewport={"width": 1000, "height": 700})
    await login(page, st)
    await pick_target(page, st, SCREEN_ID)
    assert await page.inner_text("[data-testid=open-terminal]") == "Open screen"
    await page.click("[data-testid=open-terminal]")
    await page.evaluate(f"porthole.waitState('channel', 'open', {int(FRAME_TIMEOUT_S * 1000)})")
    first = await wait_state(page, lambda s: s.get("framesDecoded", 0) > 0, "frames decoded", FRAME_TIMEOUT_S)
    await wait_state(page, lambda s: s["framesDecoded"] > first["framesDecoded"], "framesDecoded grows")
    state = await page.evaluate("({...porthole.state})")
    assert (state["videoWidth"], state["videoHeight"]) == (STREAM_W, STREAM_H), state
    # The picture is the display's, and follows it.
    await wait_picture(page, RED, BLUE, "red | blue")
    xvfb.halves("#00ff00", "#ffff00")
    await wait_picture(page, GREEN, YELLOW, "green | yellow after the change")
    await assert_page_relayed(page, coturn)


async def test_screen_from_aiortc_through_the_relay(tmp_path, netns_factory, xvfb):
    t, coturn, st = await relayed_screen(tmp_path, netns_factory, xvfb)
    cloud_ip, brw_ip = t.link_of(t.cloud).ns_ip, t.link_of(t.brw).ns_ip
    try:
        xvfb.halves("#ff0000", "#0000ff")

        async def client_in_brw() -> None:
            token = await product_client.login(st.url, st.username, st.password)
            s = await product_client.open_screen(st.url, token, st.device_id, SCREEN_ID, timeout=FRAME_TIMEOUT_S)
            try:
                client = s.client
                await client.wait_for(lambda: client.frames > 0, FRAME_TIMEOUT_S, "a first decoded frame")
                f = client.last_frame
                assert f is not None and (f.width, f.height) == (STREAM_W, STREAM_H)

                def shows(left, right):
                    return lambda: near(client.pixel(0.25, 0.5), left) and near(client.pixel(0.75, 0.5), right)

                await client.wait_for(shows(RED, BLUE), what="red | blue")
                xvfb.halves("#00ff00", "#ffff00")
                await client.wait_for(shows(GREEN, YELLOW), what="green | yellow after the pattern changed")
                # The media went through the relay: the selected pair has a relayed end.
                dtls = client.pc.getTransceivers()[0].receiver.transport
                conn = dtls.transport._connection  # aioice (pinned)
                assert {x.host for x in conn.local_candidates if x.type == "host"} == {brw_ip}  # in brw
                pair = conn._nominated[1]  # the selected pair
                # The relay's address: no direct path exists.
                assert pair.local_candidate.type == "relay" or pair.remote_addr[0] == cloud_ip, pair
                # This client allocated, with its credential.
                assert coturn.allocations(s.id) >= 1, coturn.log()[-2000:]
            finally:
                await s.close()

        await run_in(t.brw, client_in_brw)
    finally:
        await st.stop()
        coturn.stop()
