"""The page in headless Chromium on the whole real product shows a screen
target: VP8 from porthole-core decoded by Chromium, the picture on the page
is the pattern drawn on Xvfb, and the page's input reaches the X server."""

from __future__ import annotations

import asyncio
import time

from tests.e2e.test_browser_terminal import login, pick_target
from tests.screen.client import near
from tests.screen.conftest import SCREEN_ID, decode_png, pointer, rgb_at
from tests.support.artifacts import artifacts_dir

RED, BLUE, GREEN, YELLOW = (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0)


async def wait_state(page, pred, what: str, timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        st = await page.evaluate("({...porthole.state})")
        if pred(st):
            return st
        assert time.monotonic() < deadline, f"{what}: state {st} lastError {await page.evaluate('porthole.lastError')}"
        await asyncio.sleep(0.2)


async def video_colours(page) -> tuple[tuple, tuple]:
    shot = decode_png(await page.locator("[data-testid=screen]").screenshot())
    return rgb_at(shot, 0.25, 0.5), rgb_at(shot, 0.75, 0.5)


async def wait_picture(page, left, right, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = await video_colours(page)
        if near(got[0], left) and near(got[1], right):
            return
        assert time.monotonic() < deadline, f"{what}: video shows {got}"
        await asyncio.sleep(0.3)


async def test_screen_in_chromium(screen_stack, xvfb, new_page, request):
    xvfb.halves("#ff0000", "#0000ff")
    # The video keeps 16:9 in this viewport, so the element is all picture.
    page = await new_page(viewport={"width": 1000, "height": 700})
    await login(page, screen_stack)
    await pick_target(page, screen_stack, SCREEN_ID)
    assert await page.inner_text("[data-testid=open-terminal]") == "Open screen"
    await page.click("[data-testid=open-terminal]")
    await page.evaluate("porthole.waitState('channel', 'open', 20000)")
    first = await wait_state(page, lambda s: s.get("framesDecoded", 0) > 0, "frames decoded")
    st = await wait_state(
        page,
        lambda s: s["framesDecoded"] > first["framesDecoded"] + 5 and s["videoWidth"] == 1280,
        "framesDecoded grows",
    )
    assert (st["videoWidth"], st["videoHeight"]) == (1280, 720)
    assert await page.is_visible("[data-testid=screen]") and not await page.is_visible("[data-testid=terminal]")
    assert "1280" in await page.inner_text("[data-testid=video-size]")

    await wait_picture(page, RED, BLUE, "red | blue")
    xvfb.halves("#00ff00", "#ffff00")
    await wait_picture(page, GREEN, YELLOW, "green | yellow after the change")
    await page.locator("[data-testid=screen]").screenshot(path=str(artifacts_dir(request.node) / "screen.png"))

    # A click in the middle of the picture lands in the middle of the display.
    box = await page.locator("[data-testid=screen]").bounding_box()
    await page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    deadline = time.monotonic() + 10
    # Within 2 px: the page's picture is scaled, so the centre rounds.
    while not (abs((p := pointer(xvfb))[0] - 640) <= 2 and abs(p[1] - 360) <= 2):
        assert time.monotonic() < deadline, f"pointer at {p}, want about (640, 360)"
        await asyncio.sleep(0.1)
    await wait_state(page, lambda s: s["fps"] > 0 and s["kbps"] > 0, "fps and bitrate from getStats")

    await page.click("[data-testid=close-terminal]")
    await page.evaluate("porthole.waitState('session', 'closed', 10000)")
    deadline = time.monotonic() + 10
    while "session.ended" not in screen_stack.log("agent"):
        assert time.monotonic() < deadline, screen_stack.log("agent")[-2000:]
        await asyncio.sleep(0.2)
