"""Policy ends, as a person in Chromium sees them: an idle terminal is closed
with a clear reason on the page; a view-only grant says so at the start."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser_terminal import open_terminal_in_page, type_line, wait_text
from tests.support.fullstack import start_stack


@pytest.fixture
async def idle_stack(tmp_path):
    st = await start_stack(tmp_path, agent_extra="\n[policy]\nidle_timeout_s = 3\n")
    yield st, st.logs
    await st.stop()


async def test_idle_terminal_is_closed_with_a_clear_reason(idle_stack, make_container, new_page):
    stack, logs = idle_stack
    c = make_container()
    page = await open_terminal_in_page(new_page, stack, c.name)
    await type_line(page, "echo awake-$((1+1))")
    await wait_text(page, "awake-2")
    # Then nothing: the device closes it and the page says why.
    await page.evaluate("porthole.waitState('session', 'closed', 20000)")
    assert await page.evaluate("porthole.lastError") == "idle_timeout"
    banner = page.locator("[data-testid=error-banner]")
    assert await banner.get_attribute("data-code") == "idle_timeout"
    assert "idle" in (await page.text_content("[data-testid=error-message]"))
    assert '"reason": "idle_timeout"' in logs["agent"].read_text()


WARN_IDLE_S = 8  # warned at most 4 s before the end (half the limit), checked every second


@pytest.fixture
async def warn_stack(tmp_path):
    st = await start_stack(tmp_path, agent_extra=f"\n[policy]\nidle_timeout_s = {WARN_IDLE_S}\n")
    yield st, st.logs
    await st.stop()


async def wait_warning(page, reason: str) -> dict:
    await page.wait_for_selector(f"[data-testid=session-warning][data-reason={reason}]", state="visible", timeout=20000)
    return await page.evaluate("porthole.state.warning")


async def test_the_page_warns_before_an_idle_end_and_staying_keeps_the_session(warn_stack, make_container, new_page):
    stack, logs = warn_stack
    c = make_container()
    page = await open_terminal_in_page(new_page, stack, c.name)
    await type_line(page, "echo awake-$((1+1))")
    await wait_text(page, "awake-2")

    # Idle: the page warns before the end, and offers to stay.
    w = await wait_warning(page, "idle_timeout")
    assert w["extendable"] is True and 0 < w["endsInS"] <= WARN_IDLE_S / 2, w
    assert await page.evaluate("porthole.state.session") == "open"
    assert "ends in" in await page.text_content("[data-testid=session-warning-message]")
    await page.click("[data-testid=session-extend]")
    await page.wait_for_selector("[data-testid=session-warning]", state="hidden")
    # The idle clock started again: a whole new idle period later, a new warning, the session still open.
    await wait_warning(page, "idle_timeout")
    assert await page.evaluate("porthole.state.session") == "open"
    assert "idle timeout put off" in logs["agent"].read_text()

    # Typing is activity too: the device clears the warning, and the shell is there.
    await type_line(page, "echo still-$((2+2))")
    await page.wait_for_selector("[data-testid=session-warning]", state="hidden", timeout=10000)
    await wait_text(page, "still-4")

    # Left alone, it is warned of once more, then closed as idle.
    await wait_warning(page, "idle_timeout")
    await page.evaluate("porthole.waitState('session', 'closed', 20000)")
    assert await page.evaluate("porthole.lastError") == "idle_timeout"
    assert await page.is_hidden("[data-testid=session-warning]")


@pytest.fixture
async def max_stack(tmp_path):
    st = await start_stack(tmp_path, agent_extra="\n[policy]\nidle_timeout_s = 0\nmax_session_s = 8\n")
    yield st, st.logs
    await st.stop()


async def test_a_maximum_length_is_warned_of_but_cannot_be_extended(max_stack, make_container, new_page):
    stack, _logs = max_stack
    c = make_container()
    page = await open_terminal_in_page(new_page, stack, c.name)
    w = await wait_warning(page, "max_duration")
    assert w["extendable"] is False, w
    assert await page.is_hidden("[data-testid=session-extend]")
    assert "cannot be extended" in await page.text_content("[data-testid=session-warning-message]")
    # Asking anyway (a client that ignores `extendable`): the device refuses with a code.
    assert await page.evaluate("porthole.extend()") is False
    assert (await page.evaluate("porthole.state.warning"))["extendError"] == "not_extendable"
    assert "Could not extend it" in await page.text_content("[data-testid=session-warning-message]")
    await page.evaluate("porthole.waitState('session', 'closed', 20000)")
    assert await page.evaluate("porthole.lastError") == "max_duration"
