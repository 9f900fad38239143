"""The network gone for minutes (issue 11): porthole-core in a namespace of its
own behind a veth pair (the client, server and agent in the test namespace,
so signaling stays up), the link taken down for real. pion declares ICE failed
30 s after the last packet, porthole-core waits `[sidecar] ice_restart_wait_s`
for a restart that cannot come (aiortc makes none), then ends the peer
connection and the agent keeps the shell detached for `[agent]
resume_grace_s`.

- gone 2 minutes (the defaults: 60 s restart wait, a grace of 5 minutes), then
  back: a new session with a resume token gets the same shell, and what it
  printed while the link was down comes back in the replay;
- gone longer than the grace (1 s restart wait, 3 s grace): the shell is
  killed, `docker top` shows nothing of it, audited `detached_timeout`."""

from __future__ import annotations

import asyncio
import time

from tests.resilience.test_resume import exec_pids, resume_token, shell_pid, wait_record
from tests.support.fullstack import start_stack
from tests.support.product_client import login, open_terminal
from tests.support.stack import core_binary

OUTAGE_S = 120.0


async def test_network_gone_2_minutes_then_back_resumed_with_scrollback(tmp_path, make_container, netns_factory):
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    st = await start_stack(
        tmp_path,
        agent_keys="resume_grace_s = 300\n",
        core_binary_path=dev.wrap(core_binary(), tmp_path),
        ice_interfaces=[link.ns_dev],
    )
    try:
        c = make_container()
        token = await login(st.url, st.username, st.password)
        first = await open_terminal(st.url, token, st.device_id, c.name)
        pid = await shell_pid(first.client, "a")
        # One line while porthole-core still waits for ICE, one after it gave the connection up.
        first.client.type("sleep 20; echo away-one-$((6*7)); sleep 80; echo away-two-$((6*7))\r")
        await first.client.wait_output("echo away-one-")  # the shell has the line

        link.down()
        down_at = time.monotonic()
        detached = await wait_record(st, "session.detached", first.id, timeout=OUTAGE_S)
        print(f"detached {time.monotonic() - down_at:.0f} s into the outage: {detached.get('reason')}")
        assert "away-two-42" not in first.client.text(), "output went on while the link was down"
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
        await first.client.close()
        link.up()
        up_at = time.monotonic()

        tok = await resume_token(first)
        second = await open_terminal(
            st.url, token, st.device_id, c.name, extra={"resume": {"session_id": first.id, "token": tok}}
        )
        try:
            await second.client.wait_output("away-two-42")  # the replay
            print(f"resumed, old output shown {time.monotonic() - up_at:.1f} s after the link came back")
            replay = second.client.text()
            assert "away-one-42" in replay and f"pid-{pid}-a" in replay, replay[-2000:]
            assert await shell_pid(second.client, "b") == pid, "a new shell: not resumed"
            resumed = await wait_record(st, "session.resumed", second.id)
            assert resumed["resumed_from"] == first.id, resumed
        finally:
            await second.close()
    finally:
        await st.stop()


async def test_network_gone_longer_than_the_grace_shell_killed(tmp_path, make_container, netns_factory):
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    st = await start_stack(
        tmp_path,
        agent_keys="resume_grace_s = 3\n",
        sidecar_keys="ice_restart_wait_s = 1\n",
        core_binary_path=dev.wrap(core_binary(), tmp_path),
        ice_interfaces=[link.ns_dev],
    )
    try:
        c = make_container()
        token = await login(st.url, st.username, st.password)
        sess = await open_terminal(st.url, token, st.device_id, c.name)
        sess.client.type("exec sleep 4321\r")
        async with asyncio.timeout(15):
            while not any("sleep 4321" in p for p in exec_pids(c.name)):
                await asyncio.sleep(0.2)

        link.down()
        await wait_record(st, "session.detached", sess.id, timeout=60)
        assert any("sleep 4321" in p for p in exec_pids(c.name)), "killed at once, not kept detached"
        ended = await wait_record(st, "session.ended", sess.id, timeout=30)
        assert ended["reason"] == "detached_timeout" and ended["killed"] >= 1, ended
        assert not any("sleep 4321" in p for p in exec_pids(c.name)), exec_pids(c.name)
        link.up()  # still gone: nothing comes back
        await asyncio.sleep(1)
        assert not any("sleep 4321" in p for p in exec_pids(c.name)), exec_pids(c.name)
        await sess.client.close()
        await sess.sio.disconnect()
    finally:
        await st.stop()
