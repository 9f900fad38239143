"""The page's login across reloads (issue 11): headless Chromium, the real server and agent.
A tab keeps its login in its own sessionStorage: a reload uses it without the form; a login
the server no longer accepts (here: the server restarted with a new signing key) brings the
form back with a note, once, no retry loop; logout, and a new tab, start at the form."""

from __future__ import annotations

import asyncio

from porthole import grant
from tests.e2e.test_browser_terminal import login
from tests.support.fullstack import start_stack


async def logged_out(page) -> bool:
    return (
        await page.is_visible("[data-testid=login-form]")
        and not await page.is_visible("[data-testid=console]")
        and await page.evaluate("porthole.state.login") == "logged_out"
        and await page.evaluate("porthole.state.loginRestored") is not True
    )


async def test_reload_keeps_the_login_logout_and_new_tab_do_not(tmp_path, new_page):
    st = await start_stack(tmp_path)
    try:
        page = await new_page()
        await login(page, st)
        assert await page.evaluate("sessionStorage.getItem('porthole.login')")
        assert await page.evaluate("localStorage.getItem('porthole.login')") is None
        # (Checked inside the page: a failed assert must not print the token into a log.)
        assert not await page.evaluate(
            "pw => JSON.stringify(Object.assign({}, sessionStorage, localStorage)).includes(pw)", st.password
        ), "the password is stored"

        # A reload: the console at once, no form, connected with the saved token.
        await page.reload()
        await page.wait_for_selector("[data-testid=console]", state="visible")
        assert not await page.is_visible("[data-testid=login-form]")
        assert await page.evaluate("porthole.state.loginRestored") is True
        await page.evaluate("porthole.waitState('socket', 'connected')")
        assert await page.evaluate("porthole.state.user") == st.username
        assert st.username in await page.text_content("[data-testid=whoami]")

        # A new tab of the same browser starts logged out (sessionStorage is per tab).
        other = await page.context.new_page()
        await other.goto(st.url + "/")
        assert await logged_out(other)
        assert await other.evaluate("porthole.state.socket") == "disconnected"

        # Logout clears the saved login: a reload shows the form.
        await page.click("[data-testid=logout]")
        assert await page.evaluate("sessionStorage.getItem('porthole.login')") is None
        await page.reload()
        assert await logged_out(page)
        await asyncio.sleep(1)
        assert await page.evaluate("porthole.state.socket") == "disconnected"
    finally:
        await st.stop()


async def test_saved_login_refused_after_server_key_change_shows_the_form_once(tmp_path, new_page):
    st = await start_stack(tmp_path)
    try:
        page = await new_page()
        await login(page, st)
        # The tab leaves the page (same tab: its sessionStorage stays), the server is redeployed
        # with a new signing key (every token it issued before is refused), and the tab comes
        # back: it takes its saved login and connects with it; the server has the last word.
        # (The page is served by that server: it cannot load while the server is down.)
        await page.goto("about:blank")
        await st.stop_server()
        private_pem, _ = grant.generate_keypair()
        st.dc.signing_key.write_bytes(private_pem)
        denied_before = sum(1 for r in st.audit() if r["event"] == "connect.denied")
        await st.start_server()
        await page.goto(st.url + "/")

        await page.wait_for_selector("[data-testid=login-note]", state="visible", timeout=30000)
        note = await page.text_content("[data-testid=login-note]")
        assert "no longer accepted" in note and "Log in again" in note, note
        assert await page.is_visible("[data-testid=login-form]")
        assert not await page.is_visible("[data-testid=console]")
        assert await page.evaluate("porthole.lastError") == "unauthenticated"
        assert await page.evaluate("sessionStorage.getItem('porthole.login')") is None
        assert await page.input_value("[data-testid=login-username]") == st.username

        # Refused once, then nothing more: no reconnect loop with a dead token.
        await asyncio.sleep(3)
        assert await page.evaluate("porthole.state.socket") == "disconnected"
        denied = [r for r in st.audit() if r["event"] == "connect.denied"][denied_before:]
        assert [r.get("code") for r in denied] == ["token_invalid"], denied

        # The form works: a new login, saved for the next reload.
        await page.fill("[data-testid=login-password]", st.password)
        await page.click("[data-testid=login-submit]")
        await page.wait_for_selector("[data-testid=console]", state="visible")
        await page.evaluate("porthole.waitState('socket', 'connected')")
        await page.reload()
        await page.evaluate("porthole.waitState('socket', 'connected')")
        assert await page.evaluate("porthole.state.loginRestored") is True
    finally:
        await st.stop()


async def test_saved_login_past_its_expiry_is_not_used(tmp_path, new_page):
    st = await start_stack(tmp_path)
    try:
        page = await new_page()
        await login(page, st)
        # The saved login's expiry passed (the token itself is still good at the server: the
        # page counts the lifetime on its own and does not send a token it holds for expired).
        await page.evaluate("""() => {
          const l = JSON.parse(sessionStorage.getItem('porthole.login'));
          l.expiresAt = Date.now() - 1000;
          sessionStorage.setItem('porthole.login', JSON.stringify(l));
        }""")
        await page.reload()
        assert await page.is_visible("[data-testid=login-form]")
        assert not await page.is_visible("[data-testid=console]")
        assert "expired" in await page.text_content("[data-testid=login-note]")
        assert await page.input_value("[data-testid=login-username]") == st.username
        assert await page.evaluate("sessionStorage.getItem('porthole.login')") is None
        assert await page.evaluate("porthole.state.loginRestored") is not True
        await asyncio.sleep(1)
        assert await page.evaluate("porthole.state.socket") == "disconnected"
    finally:
        await st.stop()
