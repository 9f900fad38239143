"""Signaling is not the session (issue 11): the real server, agent, porthole-core
and Docker, aiortc as the client. The server is stopped the way a deploy stops
it (SIGTERM), or killed (SIGKILL), and started again on the same port; the client's socket is cut.
The terminal's bytes go peer to peer and never stop; the session is routed
again on the new server (the device re-announces it with its grant, the client
rebinds it), exactly once."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.fullstack import start_stack
from tests.support.product_client import login, open_terminal, rebind


def records(st, event: str, session_id: str, source: str = "server") -> list[dict]:
    return [
        r for r in st.audit() if r["event"] == event and r.get("session_id") == session_id and r["source"] == source
    ]


async def wait_record(st, event: str, session_id: str, source: str, timeout: float = 20) -> dict:
    async with asyncio.timeout(timeout):
        while not (found := records(st, event, session_id, source)):
            await asyncio.sleep(0.2)
    return found[0]


@pytest.fixture
async def stack(tmp_path):
    st = await start_stack(tmp_path)
    yield st
    await st.stop()


@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
async def test_server_restart_mid_session_terminal_keeps_echoing(stack, make_container, kill):
    c = make_container()
    token = await login(stack.url, stack.username, stack.password)
    sess = await open_terminal(stack.url, token, stack.device_id, c.name)
    term = sess.client
    try:
        term.type("echo $$ > /tmp/pid; echo before-$((6*7))\r")
        await term.wait_output("before-42")

        await stack.stop_server(kill=kill)  # a deploy (SIGTERM) or a crash: the store is gone
        term.type("echo while-down-$((6*7))\r")
        await term.wait_output("while-down-42")  # peer to peer: no server needed

        started = time.monotonic()
        await stack.start_server()
        term.type("echo while-rerouting-$((6*7))\r")
        await term.wait_output("while-rerouting-42")
        seen = await rebind(sess, stack.url, token)
        assert seen[-1] == "rebound", seen
        print(f"routed again {time.monotonic() - started:.1f} s after the new server was up; rebind answers {seen}")

        term.type("echo after-$((6*7)); cat /tmp/pid\r")
        await term.wait_output("after-42")
        assert term.pc.connectionState == "connected"
        assert sess.errors.empty()

        # Routed once: the device restored it from its grant, the client rebound it.
        rerouted = records(stack, "session.rerouted", sess.id)
        assert sorted((r["side"], r["restored"]) for r in rerouted) == [("agent", True), ("client", False)], rerouted
        # The new server routes it: an explicit close reaches the device and ends the shell there.
        ack = await sess.sio.call("webrtc:disconnect", {"session_id": sess.id}, namespace="/client")
        assert ack == {"ok": True}
        ended = await wait_record(stack, "session.ended", sess.id, "agent")
        assert ended["reason"] == "user_closed", ended
        closed = records(stack, "session.closed", sess.id)
        assert [r["reason"] for r in closed] == ["client"], closed  # on the new server, once
    finally:
        await sess.close()


async def test_client_socket_lost_and_back_session_kept(stack, make_container):
    c = make_container()
    token = await login(stack.url, stack.username, stack.password)
    sess = await open_terminal(stack.url, token, stack.device_id, c.name)
    term = sess.client
    try:
        term.type("echo one-$((6*7))\r")
        await term.wait_output("one-42")
        await sess.sio.disconnect()  # the browser's socket drops (a proxy timeout, a laptop asleep)
        term.type("echo two-$((6*7))\r")
        await term.wait_output("two-42")
        assert await rebind(sess, stack.url, token) == ["rebound"]
        term.type("echo three-$((6*7))\r")
        await term.wait_output("three-42")
        assert records(stack, "session.closed", sess.id) == []
        assert records(stack, "session.ended", sess.id, "agent") == []
        assert [r["side"] for r in records(stack, "session.rerouted", sess.id)] == ["client"]
    finally:
        await sess.close()
