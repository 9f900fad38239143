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
