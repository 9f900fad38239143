"""A shared SCREEN driven from the page, in two headless Chromium contexts (issue 15 §1;
docs/protocol.md §2f "Screens"): the owner opens the Xvfb screen and invites a colleague
by name; the colleague's page offers the invitation, joins, and shows the same picture in
its screen view; its input reaches nothing while it has no control (the device refuses
what is sent anyway); the owner hands control over with the page's button, the colleague's
clicks and keys reach the X display, the owner's page says who has control and its own
input is refused; the owner takes control back. Then a link made on the owner's page is
opened in a third browser before its login and joins the screen; the owner's close ends
the viewer's session (share_ended). Real server, agent, porthole-core, Xvfb and Chromium."""

from __future__ import annotations

import asyncio
import time

from tests.e2e.test_browser_terminal import pick_target
from tests.e2e.test_shared_session_browser import login_as, wait_participants
from tests.screen.conftest import SCREEN_ID, KeyRecorder, pointer
from tests.screen.test_screen_browser import BLUE, GREEN, RED, YELLOW, wait_picture, wait_state
from tests.screen.test_screen_share import PW, USERS
from tests.support.fullstack import start_stack

W, H = 1280, 720  # the Xvfb, and the video (no scaling configured)
VIEWPORT = {"width": 1000, "height": 800}


async def click_at(page, fx: float, fy: float) -> None:
    """A click at (fx, fy) of the picture in the page's <video> (object-fit contain letterboxes it)."""
    box = await page.locator("[data-testid=screen]").bounding_box()
    assert box is not None
    scale = min(box["width"] / W, box["height"] / H)
    left = box["x"] + (box["width"] - W * scale) / 2
    top = box["y"] + (box["height"] - H * scale) / 2
    await page.mouse.click(left + fx * W * scale, top + fy * H * scale)


async def wait_pointer(x, fx: float, fy: float, what: str, timeout: float = 15) -> None:
    """The X pointer at (fx, fy) of the display, within 2 px (the page's picture is scaled)."""
    want = (int(fx * W), int(fy * H))
    deadline = time.monotonic() + timeout
    while not (abs((p := pointer(x))[0] - want[0]) <= 2 and abs(p[1] - want[1]) <= 2):
        assert time.monotonic() < deadline, f"{what}: pointer at {p}, want about {want}"
        await asyncio.sleep(0.1)


def near_pointer(x, fx: float, fy: float) -> bool:
    p = pointer(x)
    return abs(p[0] - int(fx * W)) <= 2 and abs(p[1] - int(fy * H)) <= 2


async def refused_count(page, at_least: int, what: str) -> None:
    """The page counted at least `at_least` refusals of its input, the last input_not_allowed."""
    st = await wait_state(page, lambda s: s.get("inputErrors", 0) >= at_least, what)
    assert st["lastInputError"] == "input_not_allowed", st


async def send_raw(page, msg: str) -> None:
    """A message on the page's `input` channel as a client that ignores its role would send it."""
    await page.evaluate("(m) => porthole.dc.send(m)", msg)


async def participants_now(page) -> list:
    return await wait_participants(page, lambda ps: True, "the participants")


async def test_share_a_screen_from_the_page(tmp_path, xvfb, new_page):
    st = await start_stack(
        tmp_path,
        targets="[targets]\ndocker = false\n",
        server_extra=USERS,
        agent_extra=f'\n[[screens]]\nid = "{SCREEN_ID}"\nname = "Test desk"\ndisplay = "{xvfb.display}"\n',
    )
    (tmp_path / "colleague.password").write_text(PW)  # the secrets scan looks for it
    keys = None
    try:
        keys = KeyRecorder(xvfb)
        xvfb.halves("#ff0000", "#0000ff")
        owner = await new_page(viewport=VIEWPORT)
        await login_as(owner, st, st.username, st.password)
        await pick_target(owner, st, SCREEN_ID)
        await owner.click("[data-testid=open-terminal]")
        await owner.evaluate("porthole.waitState('channel', 'open', 20000)")
        # The share panel is there for a screen too.
        await owner.wait_for_selector("[data-testid=share-panel]", state="visible", timeout=10000)
        await wait_picture(owner, RED, BLUE, "the owner's picture")
        await click_at(owner, 0.25, 0.25)
        await wait_pointer(xvfb, 0.25, 0.25, "the owner's click before sharing")

        guest = await new_page(viewport=VIEWPORT)
        await login_as(guest, st, "colleague", PW)
        await owner.fill("[data-testid=share-user]", "colleague")
        await owner.click("[data-testid=share-invite]")
        await guest.wait_for_selector("[data-testid=share-join]", state="visible", timeout=20000)
        await guest.click("[data-testid=share-join]")
        await guest.evaluate("porthole.waitState('channel', 'open', 20000)")
        # The join opened the screen view (not a terminal) with the owner's display in it.
        assert await guest.is_visible("[data-testid=screen]")
        assert not await guest.is_visible("[data-testid=terminal]")
        await wait_picture(guest, RED, BLUE, "the guest's picture")
        xvfb.halves("#00ff00", "#ffff00")
        await wait_picture(guest, GREEN, YELLOW, "the guest's picture after the display changed")
        guest_id = await guest.evaluate("porthole.state.sessionId")

        in_session = lambda ps: len(ps) == 2  # noqa: E731
        got = await wait_participants(owner, in_session, "both listed on the owner's page")
        assert {r for _, r, _ in got} == {"owner", "viewer"}, got
        assert any(r == "owner" and ctl == "true" for _, r, ctl in got), got
        await wait_participants(guest, in_session, "both listed on the guest's page")
        assert await guest.is_visible("[data-testid=share-request]")  # a viewer may ask for control

        # Without control the guest's page sends nothing; what is sent anyway is refused. The refusal
        # comes back on the same ordered channel, after the click would have been applied.
        await click_at(guest, 0.75, 0.75)
        await send_raw(guest, '{"type":"move","x":1200,"y":700}')
        await refused_count(guest, 1, "the guest's input refused without control")
        assert near_pointer(xvfb, 0.25, 0.25), f"the guest without control moved the pointer: {pointer(xvfb)}"

        # Handoff with the owner's button: the guest's clicks and keys reach the X display.
        await owner.click("[data-testid=share-handoff]")
        await wait_participants(
            guest, lambda ps: any(r == "viewer" and ctl == "true" for _, r, ctl in ps), "control on the guest's page"
        )
        assert not await guest.is_visible("[data-testid=share-request]")
        await click_at(guest, 0.75, 0.75)
        await wait_pointer(xvfb, 0.75, 0.75, "the guest's click with control")
        await guest.keyboard.press("x")
        deadline = time.monotonic() + 10
        while "keysym 0x78, x" not in keys.text():
            assert time.monotonic() < deadline, f"xev saw no 'x' from the guest: {keys.text()[-1500:]}"
            await asyncio.sleep(0.1)
        await st.wait_audit(
            "session.control",
            session_id=await owner.evaluate("porthole.state.sessionId"),
            source="agent",
            to_session=guest_id,
        )

        # The owner's page says who has control, and its keys and clicks are refused.
        await owner.wait_for_selector("[data-testid=share-control-notice]", state="visible", timeout=20000)
        notice = await owner.inner_text("[data-testid=share-control-notice]")
        assert "colleague has control" in notice and "screen" in notice, notice
        await owner.wait_for_selector("[data-testid=share-takeback]", state="visible")
        got = await participants_now(owner)
        assert any(r == "viewer" and ctl == "true" for _, r, ctl in got), got
        before = await owner.evaluate("porthole.state.inputErrors")
        await owner.locator("[data-testid=screen]").focus()
        await owner.keyboard.press("y")  # a key down and a key up: two refusals
        await refused_count(owner, before + 2, "the owner's key refused while the guest has control")
        await click_at(owner, 0.25, 0.75)  # at least a button down and up
        await refused_count(owner, before + 4, "the owner's click refused while the guest has control")
        assert near_pointer(xvfb, 0.75, 0.75), f"the owner without control moved the pointer: {pointer(xvfb)}"
        await guest.keyboard.press("z")  # injected after the owner's refused "y" would have been
        deadline = time.monotonic() + 10
        while "keysym 0x7a, z" not in keys.text():
            assert time.monotonic() < deadline, f"xev saw no 'z' from the guest: {keys.text()[-1500:]}"
            await asyncio.sleep(0.1)
        assert "keysym 0x79, y" not in keys.text(), "the owner's key reached the display without control"

        # Take back with the owner's button: the owner's clicks work again, the guest's page goes quiet.
        await owner.click("[data-testid=share-takeback]")
        await wait_participants(
            owner,
            lambda ps: any(r == "owner" and ctl == "true" for _, r, ctl in ps),
            "control back on the owner's page",
        )
        await owner.wait_for_selector("[data-testid=share-control-notice]", state="hidden", timeout=20000)
        await wait_participants(
            guest,
            lambda ps: any(r == "owner" and ctl == "true" for _, r, ctl in ps),
            "control back on the guest's page",
        )
        await click_at(owner, 0.25, 0.75)
        await wait_pointer(xvfb, 0.25, 0.75, "the owner's click after taking control back")
        errors = await guest.evaluate("porthole.state.inputErrors")
        await click_at(guest, 0.75, 0.25)
        await send_raw(guest, '{"type":"move","x":1200,"y":100}')
        await refused_count(guest, errors + 1, "the guest's input refused after the take back")
        assert near_pointer(xvfb, 0.25, 0.75), f"the guest moved the pointer after the take back: {pointer(xvfb)}"
        await st.wait_audit("session.control", source="agent", taken_back=True)

        # The guest leaves; a link made on the owner's page joins the screen from a browser that logs in after.
        await guest.click("[data-testid=close-terminal]")
        await wait_participants(owner, lambda ps: len(ps) == 1, "the guest left")
        await owner.fill("[data-testid=share-user]", "")
        await owner.click("[data-testid=share-invite]")
        async with asyncio.timeout(15):
            while "#join=" not in (link := await owner.input_value("[data-testid=share-link]")):
                await asyncio.sleep(0.1)
        other = await new_page(viewport=VIEWPORT)
        await other.goto(link)
        await other.fill("[data-testid=login-username]", "colleague")
        await other.fill("[data-testid=login-password]", PW)
        await other.click("[data-testid=login-submit]")
        await other.evaluate("porthole.waitState('channel', 'open', 30000)")
        assert await other.is_visible("[data-testid=screen]")
        await wait_picture(other, GREEN, YELLOW, "the picture on the page that joined by the link")
        await wait_participants(owner, in_session, "the link's viewer listed on the owner's page")

        # The owner closes: the viewer's session ends with it.
        await owner.click("[data-testid=close-terminal]")
        async with asyncio.timeout(30):
            while await other.evaluate("porthole.lastError") != "share_ended":
                await asyncio.sleep(0.2)
    finally:
        if keys is not None:
            keys.stop()
        await st.stop()
