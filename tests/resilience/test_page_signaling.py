"""The page keeps a live terminal through a restart of the signaling server
(issue 11): real server (SIGTERM, then started again on the same port), agent,
Docker and Chromium. While the server is away the page says "signaling
reconnecting" and the terminal keeps echoing (peer to peer); when it is back
the page re-announces the session (`session:rebind`) and the server routes it
again, restored from the device's re-announce."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from tests.e2e.test_browser_terminal import open_terminal_in_page, type_line, wait_text
from tests.support.fullstack import start_stack

BACK_TIMEOUT_S = 45.0  # the agent's and the page's reconnect backoff on a busy machine


async def wait_eval(page, expr: str, want, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (got := await page.evaluate(expr)) != want:
        assert time.monotonic() < deadline, f"{expr} = {got!r}, not {want!r}"
        await asyncio.sleep(0.1)


async def test_page_keeps_the_terminal_through_a_server_restart(tmp_path, make_container, new_page):
    st = await start_stack(tmp_path)
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        sid = await page.evaluate("porthole.state.sessionId")
        await type_line(page, "echo one-$((6*7))")
        await wait_text(page, "one-42")

        await st.stop_server()
        await wait_eval(page, "porthole.state.signaling", "reconnecting", 15)
        pill = (await page.inner_text("[data-testid=socket-state]")).strip()
        assert pill == "signaling reconnecting", pill
        await type_line(page, "echo two-$((6*7))")
        await wait_text(page, "two-42")  # no server: the bytes go peer to peer

        await st.start_server()
        started = time.monotonic()
        await wait_eval(page, "porthole.state.signaling", "connected", BACK_TIMEOUT_S)
        print(f"page rebound {time.monotonic() - started:.1f} s after the new server was up")
        assert (await page.inner_text("[data-testid=socket-state]")).strip() == "connected"
        await type_line(page, "echo three-$((6*7))")
        await wait_text(page, "three-42")
        assert await page.evaluate("porthole.state.sessionId") == sid
        assert await page.evaluate("porthole.state.channel") == "open"

        path = Path(st.dc.directory) / "audit.jsonl"
        records = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        rerouted = sorted(
            (r["side"], r["restored"]) for r in records if r["event"] == "session.rerouted" and r["session_id"] == sid
        )
        assert rerouted == [("agent", True), ("client", False)], rerouted
        # The new server knows it: the page's Close ends it there (the server's own record).
        await page.click("[data-testid=close-terminal]")
        deadline = time.monotonic() + 20
        while not any(
            r["event"] == "session.closed" and r.get("session_id") == sid and r.get("reason") == "client"
            for r in (json.loads(x) for x in path.read_text().splitlines() if x.strip())
        ):
            assert time.monotonic() < deadline, "the new server never closed the session"
            await asyncio.sleep(0.2)
    finally:
        await st.stop()
