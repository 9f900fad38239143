"""The screen clipboard in headless Chromium on the whole real product (issue 15,
4): Ctrl+V on the screen puts the browser's clipboard into the remote display's
CLIPBOARD before the key reaches the remote app, and a copy on the display lands
in the browser's clipboard. Tk is the X client on the display."""

from __future__ import annotations

import asyncio

from tests.e2e.test_browser_terminal import login, pick_target
from tests.screen import xclipboard
from tests.screen.conftest import SCREEN_ID
from tests.screen.test_screen_browser import wait_state

TO_REMOTE = "from the browser ✓ " + "x" * 20000  # several messages
FROM_REMOTE = "copied on the display é"


async def test_clipboard_both_ways_in_chromium(screen_stack, xvfb, new_page):
    page = await new_page(viewport={"width": 1000, "height": 700}, permissions=["clipboard-read", "clipboard-write"])
    await login(page, screen_stack)
    await pick_target(page, screen_stack, SCREEN_ID)
    await page.click("[data-testid=open-terminal]")
    await page.evaluate("porthole.waitState('channel', 'open', 20000)")
    await wait_state(page, lambda s: s.get("framesDecoded", 0) > 0, "frames decoded")

    # The browser's clipboard, pasted on the focused screen with Ctrl+V.
    await page.evaluate("(t) => navigator.clipboard.writeText(t)", TO_REMOTE)
    await page.locator("[data-testid=screen]").click()
    await page.keyboard.press("Control+V")
    st = await wait_state(page, lambda s: s["clipboardSent"] > 0, "the paste sent")
    assert st["clipboardSent"] == len(TO_REMOTE.encode()), st
    deadline = asyncio.get_running_loop().time() + 10
    while (got := await asyncio.to_thread(xclipboard.paste, xvfb)) != TO_REMOTE:
        assert asyncio.get_running_loop().time() < deadline, f"the display's clipboard holds {got[:60]!r}"
        await asyncio.sleep(0.2)

    # A copy on the display, in the browser's clipboard.
    owner = await asyncio.to_thread(xclipboard.Copy, xvfb, FROM_REMOTE)
    try:
        st = await wait_state(page, lambda s: s["clipboardCopied"] is not None and s["clipboardReceived"] > 0, "copy")
        assert st["clipboardReceived"] == len(FROM_REMOTE.encode()), st
        if st["clipboardCopied"] is False:  # writeText refused: the panel offers it, a click copies it
            assert await page.input_value("[data-testid=clip-text]") == FROM_REMOTE
            await page.click("[data-testid=clip-copy]")
            await wait_state(page, lambda s: s["clipboardCopied"] is True, "copied from the panel")
        assert await page.evaluate("navigator.clipboard.readText()") == FROM_REMOTE
    finally:
        owner.release()


async def test_remote_copy_waits_in_the_panel_when_refused(screen_stack, xvfb, new_page):
    """A browser that refuses writeText (no focus, no permission: simulated here by a writeText
    that always rejects, as headless Chromium grants it to a focused page) keeps the copy in the
    panel; its Copy button puts it in the clipboard (the selection and execCommand("copy"), the
    way left when writeText is refused even on a click)."""
    page = await new_page(viewport={"width": 1000, "height": 700}, permissions=["clipboard-read"])
    await page.add_init_script(
        "navigator.clipboard.writeText = () => Promise.reject(new DOMException('refused', 'NotAllowedError'))"
    )
    await login(page, screen_stack)
    await pick_target(page, screen_stack, SCREEN_ID)
    await page.click("[data-testid=open-terminal]")
    await page.evaluate("porthole.waitState('channel', 'open', 20000)")
    await wait_state(page, lambda s: s.get("framesDecoded", 0) > 0, "frames decoded")
    owner = await asyncio.to_thread(xclipboard.Copy, xvfb, FROM_REMOTE)
    try:
        st = await wait_state(page, lambda s: s["clipboardCopied"] is not None, "the copy")
        assert st["clipboardCopied"] is False and st["clipboardReceived"] == len(FROM_REMOTE.encode()), st
        assert await page.is_visible("[data-testid=clip-panel]")
        assert await page.input_value("[data-testid=clip-text]") == FROM_REMOTE
        assert await page.inner_text("[data-testid=clip-bytes]") == str(len(FROM_REMOTE.encode()))
        await page.click("[data-testid=clip-copy]")
        await wait_state(page, lambda s: s["clipboardCopied"] is True, "copied from the panel")
        assert not await page.is_visible("[data-testid=clip-panel]")
        assert await page.evaluate("navigator.clipboard.readText()") == FROM_REMOTE
    finally:
        owner.release()
