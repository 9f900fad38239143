"""The page comes back by itself after the signaling server restarts (issue 16):
the socket reconnects, says so while it is away, and lists the devices again
without a reload. The agent must come back too for the device to read online."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.e2e.test_browser_terminal import login

# Server restart + the agent's and the page's backoff (1 s doubling, capped) on a busy machine.
BACK_TIMEOUT_S = 45.0


async def device_online(page, device_id: str) -> bool | None:
    devices = await page.evaluate("porthole.devices")
    for d in devices or []:
        if d["id"] == device_id:
            return bool(d["online"])
    return None


async def wait_device_listed_online(page, device_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not (await page.evaluate("porthole.state.socket") == "connected" and await device_online(page, device_id)):
        assert time.monotonic() < deadline, (
            f"device {device_id} not back online in the page: socket="
            f"{await page.evaluate('porthole.state.socket')!r} devices={await page.evaluate('porthole.devices')!r}"
        )
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("kill", [False, True], ids=["graceful", "sigkill"])
async def test_page_lists_devices_again_after_server_restart(stack, new_page, kill):
    page = await new_page()
    await login(page, stack)
    await wait_device_listed_online(page, stack.device_id, 15)

    await stack.stop_server(kill=kill)
    # While the server is away the page says it is reconnecting (not "disconnected": it will come back).
    deadline = time.monotonic() + 10
    while await page.evaluate("porthole.state.socket") != "connecting":
        assert time.monotonic() < deadline, await page.evaluate("porthole.state.socket")
        await asyncio.sleep(0.1)
    assert (await page.inner_text("[data-testid=socket-state]")).strip() == "reconnecting"
    await asyncio.sleep(2)  # a few failed attempts while the server is down
    assert await page.evaluate("porthole.state.socket") == "connecting"

    reloads = await page.evaluate("performance.getEntriesByType('navigation').length")
    await stack.start_server()
    await wait_device_listed_online(page, stack.device_id, BACK_TIMEOUT_S)
    assert (await page.inner_text("[data-testid=socket-state]")).strip() == "connected"
    # Same document: the page came back by itself, nobody reloaded it.
    assert await page.evaluate("performance.getEntriesByType('navigation').length") == reloads
    assert await page.evaluate("performance.getEntriesByType('navigation')[0].type") == "navigate"
