"""10 % packet loss and 200 ms of added delay on the link between the client and
porthole-core (issue 11): the terminal works, and every byte of a known stream
arrives once, in order.

This kernel has no netem (TESTING.md): porthole-core runs in a namespace of its
own, joined to the test namespace through a userspace bridge that holds every
frame 100 ms in each direction (a round trip gains 200 ms, as ``netem delay
200ms`` on one end gives) and drops 10 % of the IPv4 frames in each direction
(tests/support/slowlink.py)."""

from __future__ import annotations

from tests.agent.test_terminal import wait_target
from tests.support.slowlink import slow_link
from tests.support.stack import core_binary

LAST = 35000  # `seq 1 35000`: 198,894 bytes, 233,894 through the pty (\n -> \r\n)
EXPECTED = "".join(f"{i}\r\n" for i in range(1, LAST + 1))


async def test_lossy_slow_link_terminal_works_every_byte_in_order(
    agent_factory, make_container, netns_factory, tmp_path
):
    dev = netns_factory("dev")
    link = slow_link(netns_factory, dev, delay_s=0.1, loss=0.1, tmp=tmp_path)
    agent = await agent_factory(core_binary=dev.wrap(core_binary(), tmp_path), ice_interfaces=[link.ns_dev])
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name)

    # Interactive: each line typed, echoed and answered before the next.
    for n in range(5):
        client.type(f"echo typed-{n}-$((6*7))\r")
        await client.wait_output(f"typed-{n}-42\r\n", timeout=30)

    client.type(f"echo BEGIN-$((6*7)); seq 1 {LAST}; echo END-$((6*7))\r")
    await client.wait_output("END-42\r\n", timeout=180)
    text = client.text()
    streamed = text[text.index("BEGIN-42\r\n") + len("BEGIN-42\r\n") : text.index("END-42\r\n")]
    assert len(streamed) == len(EXPECTED), f"{len(streamed)} bytes, not {len(EXPECTED)}"
    assert streamed == EXPECTED, "bytes lost, doubled or out of order"

    client.type("echo after-$((6*7))\r")
    await client.wait_output("after-42\r\n", timeout=30)
    assert agent.hub.got(sid, "webrtc:disconnect") == []
    counts = link.stats()
    # The traffic went through the bridge, and the bridge did drop some of it.
    assert counts["forwarded"] > 100 and counts["dropped"] > 10, counts
    print(f"slow link: {counts}")
