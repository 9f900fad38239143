"""A screen reconnects the way a terminal does (issue 11): an ICE restart from
the page (as a network change makes one) is answered by porthole-core on the
same peer connection, which sends a keyframe at once; the video goes on and
shows what the display shows. Real product, Xvfb, Chromium."""

from __future__ import annotations

import asyncio
import time

from tests.e2e.test_browser_terminal import login, pick_target
from tests.screen.conftest import SCREEN_ID
from tests.screen.test_screen_browser import BLUE, GREEN, RED, YELLOW, wait_picture, wait_state


async def test_screen_ice_restart_in_chromium(screen_stack, xvfb, new_page):
    xvfb.halves("#ff0000", "#0000ff")
    page = await new_page(viewport={"width": 1000, "height": 700})
    await login(page, screen_stack)
    await pick_target(page, screen_stack, SCREEN_ID)
    await page.click("[data-testid=open-terminal]")
    await page.evaluate("porthole.waitState('channel', 'open', 20000)")
    await wait_picture(page, RED, BLUE, "red | blue")
    sid = await page.evaluate("porthole.state.sessionId")

    await page.evaluate("porthole.restartIce()")
    await wait_state(page, lambda s: s["iceRestarts"] == 1, "one ICE restart")
    deadline = time.monotonic() + 20
    while "ICE connected again: keyframe requested" not in screen_stack.log("agent"):
        assert time.monotonic() < deadline, "porthole-core asked for no keyframe after the restart"
        await asyncio.sleep(0.2)
    await wait_state(page, lambda s: s["ice"] in ("connected", "completed"), "ICE connected after the restart")
    frames = (await page.evaluate("({...porthole.state})"))["framesDecoded"]
    xvfb.halves("#00ff00", "#ffff00")
    await wait_picture(page, GREEN, YELLOW, "green | yellow after the restart")
    await wait_state(page, lambda s: s["framesDecoded"] > frames, "frames decoded after the restart")
    assert await page.evaluate("porthole.state.sessionId") == sid
    assert await page.evaluate("porthole.state.channel") == "open"
