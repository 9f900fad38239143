"""End to end in headless Chromium on the whole real product: the page served
by the real server, the real agent and porthole-core, a real container."""

from __future__ import annotations

import asyncio
import re
import time

from tests.agent.test_terminal import extra_processes, wait_no_extra_processes
from tests.support.artifacts import artifacts_dir


async def login(page, stack) -> None:
    await page.goto(stack.url + "/")
    await page.fill("[data-testid=login-username]", stack.username)
    await page.fill("[data-testid=login-password]", stack.password)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_selector("[data-testid=console]", state="visible")
    await page.evaluate("porthole.waitState('socket', 'connected')")


async def pick_target(page, stack, target: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        await page.evaluate("porthole.refreshDevices()")
        await page.select_option("[data-testid=device-select]", stack.device_id)
        values = await page.eval_on_selector_all("[data-testid=target-select] option", "els => els.map(e => e.value)")
        if target in values:
            await page.select_option("[data-testid=target-select]", target)
            return
        assert time.monotonic() < deadline, f"{target} never listed; got {values}"
        await asyncio.sleep(0.3)


async def terminal_text(page) -> str:
    return await page.evaluate("porthole.terminalText()")


async def wait_text(page, pattern: str, timeout_ms: int = 15000) -> str:
    try:
        await page.evaluate(f"porthole.waitText({pattern!r}, {timeout_ms})")
    except Exception as e:
        raise AssertionError(f"{pattern!r} not on screen: {(await terminal_text(page))[-1500:]!r}") from e
    return await terminal_text(page)


async def open_terminal_in_page(new_page, stack, target: str):
    """Logs in, picks the target, opens a terminal; returns the page once the channel is open."""
    page = await new_page(viewport={"width": 900, "height": 600})
    await login(page, stack)
    await pick_target(page, stack, target)
    await page.click("[data-testid=open-terminal]")
    await page.evaluate("porthole.waitState('channel', 'open', 20000)")
    return page


async def type_line(page, text: str) -> None:
    """Types like a person: focus the terminal, press the keys, then Enter."""
    await page.click("[data-testid=terminal]")
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")


async def test_terminal_in_chromium(stack, make_container, new_page, request):
    c = make_container()
    page = await open_terminal_in_page(new_page, stack, c.name)
    await type_line(page, "echo typed-$((6*7))")
    await wait_text(page, "typed-42")

    # The status bar shows the connection.
    await page.evaluate("porthole.waitState('localCandidateType', 'host', 5000)")
    ice = await page.inner_text("[data-testid=ice-state]")
    assert re.search(r"connected|completed", ice), ice
    assert "host" in await page.inner_text("[data-testid=candidate-pair]")
    assert re.search(r"\d", await page.inner_text("[data-testid=rtt]"))

    # The terminal size follows the window, inside the container too.
    await page.set_viewport_size({"width": 1400, "height": 900})
    await asyncio.sleep(0.5)
    cols, rows = await page.evaluate("[porthole.term.cols, porthole.term.rows]")
    await page.keyboard.type("stty size")
    await page.keyboard.press("Enter")
    await wait_text(page, f"{rows} {cols}")

    await page.screenshot(path=str(artifacts_dir(request.node) / "terminal.png"))

    # Closing the tab ends the session and its processes.
    await page.keyboard.type("sleep 1004")
    await page.keyboard.press("Enter")
    await asyncio.sleep(0.5)
    assert any("sleep 1004" in p for p in extra_processes(c))
    await page.close()
    await wait_no_extra_processes(c, timeout=20)
    # The processes die first; the audit record of the end follows within moments.
    deadline = time.monotonic() + 10
    while "session.ended" not in stack.log("agent") and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert "session.ended" in stack.log("agent")
