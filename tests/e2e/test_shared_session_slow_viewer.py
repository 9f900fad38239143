"""A viewer on a 128 kbit/s link does not slow the owner's echo (issue 15 §1): the real
server, agent, porthole-core and Docker; the owner on aiortc in the test namespace, the
viewer on aiortc in a namespace of its own (its signaling and its peer connection both)
behind a veth pair limited to 128 kbit/s in each direction (tc tbf: this kernel has no
netem; TESTING.md). The owner's shell prints megabytes while the owner types: every
keystroke's echo and every command's answer reaches the owner (porthole-core never
waits for the viewer), and the viewer, dropped behind, gets a resync (a terminal reset,
the scrollback ring, then live output) instead of every byte."""

from __future__ import annotations

import asyncio
import os
import subprocess

from tests.e2e.share_viewer import ViewerProcess
from tests.e2e.test_shared_session import COLLEAGUE_PW, OUTSIDER_PW, USERS, call, echo
from tests.support.fullstack import start_stack
from tests.support.product_client import login, open_terminal

RATE_KBIT = 128
FLOOD_BYTES = 4_000_000  # past the viewer's queue (256 KiB), channel buffer and what the link carries meanwhile
RING_BYTES = 64 * 1024
KEYS = 12  # keystrokes typed while the flood is printed; each one's echo must reach the owner
# Generous: at the viewer's rate the flood alone would take FLOOD_BYTES / 16 000 B/s = 250 s.
OWNER_BOUND_S = 90


def qdisc_overlimits(dev: str) -> int:
    """How often the tbf on dev held a packet back (the limit was met, so the viewer's traffic went this way)."""
    out = subprocess.run(["tc", "-s", "qdisc", "show", "dev", dev], capture_output=True, text=True, check=True).stdout
    words = out.split()
    assert "tbf" in words, out
    return int(words[words.index("overlimits") + 1])


async def test_a_viewer_on_a_128_kbit_link_does_not_slow_the_owner(tmp_path, make_container, netns_factory):
    # The server listens on the test interface's address, which the viewer's namespace reaches through the link.
    # A 64 KiB scrollback ring (default 1 MiB): the resync replays it over the slow link in seconds, not a minute.
    st = await start_stack(
        tmp_path,
        server_extra=USERS,
        host=os.environ["PORTHOLE_TEST_IP"],
        agent_keys=f"resume_scrollback_bytes = {RING_BYTES}\n",
    )
    (tmp_path / "colleague.password").write_text(COLLEAGUE_PW)
    (tmp_path / "outsider.password").write_text(OUTSIDER_PW)
    viewer = None
    try:
        slow = netns_factory("viewer")
        link = netns_factory.link(slow)
        link.rate(RATE_KBIT)
        c = make_container()
        owner_tok = await login(st.url, st.username, st.password)
        colleague_tok = await login(st.url, "colleague", COLLEAGUE_PW)
        owner = await open_terminal(st.url, owner_tok, st.device_id, c.name, binary=True)
        await echo(owner.client, owner.client, "before-flood")
        ack = await call(owner.sio, "share:invite", {"session_id": owner.id, "user": "colleague"})
        assert ack["ok"], ack

        out = tmp_path / "viewer.out"
        argv = [st.url, colleague_tok, st.device_id, c.name, owner.id, ack["token"], str(out)]
        viewer = ViewerProcess(argv, out, wrap=slow.cmd)
        await viewer.start(timeout=90)
        await viewer.has(b"before-flood", timeout=120)  # the viewer watches, through the slow link
        held_before = qdisc_overlimits(link.host_dev)

        # The flood, and keystrokes typed while it prints: the tty echoes each one at once, between
        # the x's. Their letters hold no x, so each is found in the owner's output with the x's taken out.
        owner.client.type(f"head -c {FLOOD_BYTES} /dev/zero | tr '\\0' x; echo FL''OOD-DONE\r")
        await owner.client.wait_for(lambda: owner.client.output.count(b"x") > 64 * 1024, timeout=60)
        keys = [f"#k{i:02d}q" for i in range(KEYS)]
        for k in keys:
            owner.client.type(k)
            await asyncio.sleep(0.05)
        owner.client.type("\r")  # the shell reads them as a comment once the flood is done

        seen, read = bytearray(), [0]  # what the owner got with the x's taken out, each byte read once

        def echoed() -> bool:
            got = owner.client.output
            seen.extend(bytes(got[read[0] :]).replace(b"x", b""))
            read[0] = len(got)
            return all(k.encode() in seen for k in keys) and b"FLOOD-DONE" in seen

        await owner.client.wait_for(echoed, timeout=OWNER_BOUND_S)
        assert owner.client.output.count(b"x") >= FLOOD_BYTES, "the owner did not get every byte of the flood"
        for i in range(3):  # and commands answer as before
            await asyncio.wait_for(echo(owner.client, owner.client, f"owner-echo-{i}"), OWNER_BOUND_S)
        assert qdisc_overlimits(link.host_dev) > held_before, "the viewer's link never held a packet back"

        # The viewer was dropped behind and resynced: a reset, the ring, then live output.
        data = await viewer.has(b"owner-echo-2", after=b"\x1bc", timeout=180)
        assert data.count(b"x") < FLOOD_BYTES, "the slow viewer got every byte: it was never dropped"
        await echo(owner.client, owner.client, "live-after-resync")
        await viewer.has(b"live-after-resync", after=b"\x1bc", timeout=120)
        await owner.close()
    finally:
        if viewer is not None:
            await viewer.stop()
        await st.stop()
