"""The agent re-announces its live sessions on every new connection
(`agent:sessions`, docs/protocol.md §3b), with the grant each was opened with;
a session the server says is `gone` ends on the device (`signaling_lost`), one
it routes again goes on. Real agent, porthole-core and Docker, aiortc client;
the hub plays the server."""

from __future__ import annotations

import asyncio

from porthole import grant
from tests.agent.test_terminal import wait_target


async def test_reannounced_and_rebound_the_terminal_goes_on(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name)
    client.type("echo one-$((6*7))\r")
    await client.wait_output("one-42")
    await agent.hub.drop()
    item = await agent.hub.wait_reannounced(sid)
    # The grant the session was opened with: signed by the server (here the hub's key), for it.
    g = grant.verify(item["grant"], agent.key.public_key(), device_id=agent.device_id)
    assert g.session_id == sid
    client.type("echo two-$((6*7))\r")
    await client.wait_output("two-42")
    assert agent.hub.got(sid, "webrtc:disconnect") == []


async def test_a_session_the_server_forgot_ends_as_signaling_lost(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name)
    client.type("echo one-$((6*7))\r")
    await client.wait_output("one-42")
    agent.hub.reannounce_status = "gone"
    await agent.hub.drop()
    await agent.hub.wait_reannounced(sid)
    await asyncio.wait_for(client.closed.wait(), 20)
    async with asyncio.timeout(10):  # the audit record follows the close
        while not any('"reason": "signaling_lost"' in ln and sid in ln for ln in agent.log().splitlines()):
            await asyncio.sleep(0.1)
    assert agent.hub.got(sid, "webrtc:disconnect") == []  # the server forgot it: nothing to tell it
