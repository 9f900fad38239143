"""Faults on a real link: porthole-core runs in a namespace of its own (`dev`)
behind a veth pair, the aiortc client in the test namespace, so taking the link
down really cuts the peer connection (both peers on one address would talk over
loopback and a downed veth would cut nothing)."""

from __future__ import annotations

import asyncio
import re

from tests.agent.test_terminal import wait_target
from tests.support.stack import core_binary

LINES = 300
# Printed at ~50 lines/s, so the run spans the whole outage and some time after.
COUNTER = f"i=0; while [ $i -lt {LINES} ]; do echo L$i; i=$((i+1)); sleep 0.02; done; echo DONE-$((6*7))\r"


def numbered_lines(text: str) -> list[int]:
    return [int(m) for m in re.findall(r"^L(\d+)\r?$", text, flags=re.M)]


async def test_link_down_3s_same_connection_no_byte_lost(agent_factory, make_container, netns_factory, tmp_path):
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    agent = await agent_factory(core_binary=dev.wrap(core_binary(), tmp_path), ice_interfaces=[link.ns_dev])
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name)
    client.type("echo up-$((6*7))\r")
    await client.wait_output("up-42")

    client.type(COUNTER)
    await client.wait_for(lambda: len(numbered_lines(client.text())) >= 20, timeout=15)
    link.down()
    await asyncio.sleep(0.5)  # what was in flight lands
    at_cut = len(numbered_lines(client.text()))
    await asyncio.sleep(2.5)
    during = len(numbered_lines(client.text()))
    link.up()
    await client.wait_output("DONE-42", timeout=60)

    assert numbered_lines(client.text()) == list(range(LINES)), "lines lost, doubled or out of order"
    assert during == at_cut < LINES, "output went on while the link was down: the link is not on the path"
    # The same peer connection carried on: no new session, no disconnect.
    assert client.pc.connectionState == "connected"
    assert agent.hub.got(sid, "webrtc:disconnect") == []
    assert agent.hub.got(sid, "webrtc:error") == []
    client.type("echo still-$((6*7))\r")
    await client.wait_output("still-42")
