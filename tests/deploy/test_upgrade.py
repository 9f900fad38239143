"""What docs/deploy.md ("Upgrading") says about restarting the server under a live terminal:
neither a graceful stop (SIGTERM: `systemctl restart`) nor a crash (SIGKILL) ends it. The
session runs peer to peer, and after the restart the device re-announces it and the new server
routes it again (docs/protocol.md §2c)."""

from __future__ import annotations

import asyncio

import pytest

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


@pytest.mark.parametrize("kill", [True, False], ids=["sigkill", "sigterm"])
async def test_a_server_restart_leaves_the_live_terminal_running(stack: Stack, make_container, kill: bool) -> None:
    s = await _open(stack, make_container)
    try:
        await stack.restart_server(kill=kill)
        s.client.type("echo during-$((6*7))\n")
        await s.client.wait_output("during-42")
        await _agent_back(stack)  # the device is back on the new server process
        s.client.type("echo after-$((6*7))\n")
        await s.client.wait_output("after-42")
        assert "session closed" not in stack.log("agent")
        assert '"reason":"client_gone"' not in stack.log("agent")
    finally:
        await s.close()
