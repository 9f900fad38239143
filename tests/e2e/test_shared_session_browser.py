"""Shared sessions in two headless Chromium pages (issue 15 §1): the owner's page
invites a colleague by name; the colleague's page offers the invitation, joins, and
shows the owner's terminal; both pages list who is in and who has control; the
owner hands control over with the button, the colleague types, the owner takes it
back. The page served by the real server, the real agent, porthole-core, Docker."""

from __future__ import annotations

import asyncio

from tests.e2e.test_browser_terminal import pick_target, type_line, wait_text
from tests.e2e.test_shared_session import COLLEAGUE_PW, OUTSIDER_PW, USERS
from tests.support.fullstack import start_stack


async def login_as(page, st, user: str, password: str) -> None:
    await page.goto(st.url + "/")
    await page.fill("[data-testid=login-username]", user)
    await page.fill("[data-testid=login-password]", password)
    await page.click("[data-testid=login-submit]")
    await page.wait_for_selector("[data-testid=console]", state="visible")
    await page.evaluate("porthole.waitState('socket', 'connected')")


async def participants(page) -> list[tuple[str, str, str]]:
    return await page.eval_on_selector_all(
        "[data-testid=share-participant]", "els => els.map(e => [e.textContent, e.dataset.role, e.dataset.control])"
    )


async def wait_participants(page, pred, what: str, timeout: float = 20) -> list:
    async with asyncio.timeout(timeout):
        while True:
            got = await participants(page)
            if pred(got):
                return got
            await asyncio.sleep(0.2)


async def test_share_from_the_page(tmp_path, make_container, new_page):
    st = await start_stack(tmp_path, server_extra=USERS)
    (tmp_path / "colleague.password").write_text(COLLEAGUE_PW)
    (tmp_path / "outsider.password").write_text(OUTSIDER_PW)
    try:
        c = make_container()
        owner = await new_page(viewport={"width": 1000, "height": 700})
        await login_as(owner, st, st.username, st.password)
        await pick_target(owner, st, c.name)
        await owner.click("[data-testid=open-terminal]")
        await owner.evaluate("porthole.waitState('channel', 'open', 20000)")
        await type_line(owner, "echo own''er-$((6*7))")
        await wait_text(owner, "owner-42")

        guest = await new_page(viewport={"width": 1000, "height": 700})
        await login_as(guest, st, "colleague", COLLEAGUE_PW)
        await owner.fill("[data-testid=share-user]", "colleague")
        await owner.click("[data-testid=share-invite]")
        await guest.wait_for_selector("[data-testid=share-join]", state="visible", timeout=20000)
        await guest.click("[data-testid=share-join]")
        await guest.evaluate("porthole.waitState('channel', 'open', 20000)")
        await wait_text(guest, "owner-42")  # the scrollback, on the guest's own connection

        in_session = lambda ps: len(ps) == 2  # noqa: E731
        got = await wait_participants(owner, in_session, "both listed on the owner's page")
        assert {r for _, r, _ in got} == {"owner", "viewer"}
        await wait_participants(guest, in_session, "both listed on the guest's page")

        # The guest's keys do nothing; the owner hands control over with the button.
        await type_line(guest, "echo gue''st-typed-early")
        # (The page of a viewer without control sends no keys at all; a client that sends them anyway
        # is refused by porthole-core: test_shared_session.py.)
        await owner.click("[data-testid=share-handoff]")
        await wait_participants(guest, lambda ps: any(r == "viewer" and ctl == "true" for _, r, ctl in ps), "control")
        await type_line(guest, "echo gue''st-$((7*6))-in-control")
        await wait_text(owner, "guest-42-in-control")
        assert "guest-typed-early" not in await owner.evaluate("porthole.terminalText()")
        # The owner's page says that its keys go nowhere now.
        await owner.wait_for_selector("[data-testid=share-control-notice]", state="visible", timeout=20000)
        assert "colleague has control" in await owner.inner_text("[data-testid=share-control-notice]")

        # Take back: the owner's page types again.
        await owner.wait_for_selector("[data-testid=share-takeback]", state="visible")
        await owner.click("[data-testid=share-takeback]")
        await wait_participants(owner, lambda ps: any(r == "owner" and ctl == "true" for _, r, ctl in ps), "back")
        await owner.wait_for_selector("[data-testid=share-control-notice]", state="hidden", timeout=20000)
        await type_line(owner, "echo own''er-back")
        await wait_text(guest, "owner-back")

        # A link: made on the owner's page, opened in another browser before the login.
        await owner.fill("[data-testid=share-user]", "")
        await owner.click("[data-testid=share-invite]")
        async with asyncio.timeout(15):
            while "#join=" not in (link := await owner.input_value("[data-testid=share-link]")):
                await asyncio.sleep(0.1)
        other = await new_page(viewport={"width": 1000, "height": 700})
        await other.goto(link)
        await other.fill("[data-testid=login-username]", "colleague")
        await other.fill("[data-testid=login-password]", COLLEAGUE_PW)
        await other.click("[data-testid=login-submit]")
        await other.evaluate("porthole.waitState('channel', 'open', 30000)")
        await wait_text(other, "owner-back")
        await wait_participants(owner, lambda ps: len(ps) == 3, "three in the session")
    finally:
        await st.stop()
