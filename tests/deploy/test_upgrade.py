"""What docs/deploy.md ("Upgrading") says about restarting the server under a live terminal.

Today a graceful stop (SIGTERM: `systemctl restart`) disconnects every socket, and the server
ends the sessions of each client it disconnects (`client_gone`), so the device closes them.
A server that dies (SIGKILL: `systemctl kill -s SIGKILL`, after which systemd starts the new
version) ends nothing: the session runs peer to peer and keeps working. If the stop learns
to drain instead, this test and the doc change together."""

from __future__ import annotations

import asyncio

from tests.support import product_client
from tests.support.fullstack import Stack


async def _open(stack: Stack, make_container) -> product_client.ProductSession:
    c = make_container()
    token = await product_client.login(stack.url, stack.username, stack.password)
    s = await product_client.open_terminal(stack.url, token, stack.device_id, c.name)
    s.client.type("echo before-$((6*7))\n")
    await s.client.wait_output("before-42")
    return s


async def _agent_back(stack: Stack) -> None:
    async with asyncio.timeout(30):
        while "connected to server" not in stack.log("agent").rsplit("disconnected from server", 1)[-1]:
            await asyncio.sleep(0.1)


async def test_a_killed_server_leaves_the_live_terminal_running(stack: Stack, make_container) -> None:
    s = await _open(stack, make_container)
    try:
        await stack.restart_server(kill=True)
        s.client.type("echo during-$((6*7))\n")
        await s.client.wait_output("during-42")
        await _agent_back(stack)  # the device is back on the new server process
        s.client.type("echo after-$((6*7))\n")
        await s.client.wait_output("after-42")
        assert "session closed" not in stack.log("agent")
    finally:
        await s.close()


async def test_a_graceful_server_stop_ends_live_sessions_today(stack: Stack, make_container) -> None:
    s = await _open(stack, make_container)
    try:
        await stack.restart_server()
        await s.client.wait_for(lambda: s.client.channel.readyState != "open", what="the channel closed")
        await _agent_back(stack)
        assert '"reason":"client_gone"' in stack.log("agent")
    finally:
        await s.close()
