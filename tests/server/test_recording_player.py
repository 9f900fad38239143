"""The page's recording player (asciinema-player) against the real server, in
real Chromium: a recording that prints numbered lines over time, with a long
idle gap. Seeking to a point shows the screen of that point (forwards and
back), idle time is skipped (the gap plays as the idle limit) or not, speed
changes keep the place, and the panel lists recordings by target and user."""

from __future__ import annotations

import json
from typing import Any

from tests.support.artifacts import artifacts_dir

from .conftest import Env
from .test_page import logged_in_page
from .test_recordings import opened, recordings_dir

LINES = 20  # "line-01" at t=1 s ... "line-20" at t=20 s
GAP_S = 600  # then nothing for ten minutes
IDLE_LIMIT_S = 2


def numbered_cast() -> str:
    events: list[list[Any]] = [[float(i), "o", f"line-{i:02}\r\n"] for i in range(1, LINES + 1)]
    events.append([float(LINES + GAP_S), "o", "after-the-gap\r\n"])
    events.append([float(LINES + GAP_S + 1), "o", "the-end\r\n"])
    header = {"version": 2, "width": 80, "height": 30, "timestamp": 1767225600}
    return "\n".join(json.dumps(x) for x in [header, *events]) + "\n"


def store(env: Env, sid: str, cast: str, **meta: Any) -> None:
    opened(env, sid, **meta)
    (recordings_dir(env) / f"{sid}.cast").write_text(cast)


async def screen_at(page: Any, seconds: float) -> list[str]:
    await page.evaluate(f"porthole.replaySeek({seconds})")
    return (await page.evaluate("porthole.replayText()")).splitlines()


async def test_the_player_seeks_skips_idle_time_and_changes_speed(env: Env, new_page: Any) -> None:
    sid = "s_player0000000000000000"
    store(env, sid, numbered_cast())
    page = await logged_in_page(env, new_page)
    await page.evaluate(f"porthole.replay({sid!r}, {{autoPlay: false, idleTimeLimit: {IDLE_LIMIT_S}}})")
    assert await page.evaluate("porthole.replayState") == "ready"
    # The ten-minute gap plays as the idle limit: 20 s of lines, 2 s, then 1 s.
    assert abs(await page.evaluate("porthole.replayDuration()") - (LINES + IDLE_LIMIT_S + 1)) < 0.01

    # The middle: lines 1..10 are on the screen, 11 not yet.
    shown = await screen_at(page, 10.5)
    assert shown == [f"line-{i:02}" for i in range(1, 11)], shown
    # Just before and after the gap (on the player's clock, where it lasts 2 s).
    shown = await screen_at(page, LINES + 1)
    assert shown[-1] == f"line-{LINES}" and "after-the-gap" not in shown, shown
    shown = await screen_at(page, LINES + IDLE_LIMIT_S + 0.5)
    assert shown[-1] == "after-the-gap" and "the-end" not in shown, shown
    # Backwards.
    shown = await screen_at(page, 5.5)
    assert shown == [f"line-{i:02}" for i in range(1, 6)], shown

    # A speed change reloads the player where it was.
    await page.evaluate("porthole.replaySetSpeed(8)")
    assert (await page.evaluate("porthole.replayOptions"))["speed"] == 8
    assert abs(await page.evaluate("porthole.replayTime()") - 5.5) < 0.01
    assert (await page.evaluate("porthole.replayText()")).splitlines()[-1] == "line-05"
    assert await page.input_value("[data-testid=recording-speed]") == "8"
    # Played from there, it reaches the end and shows the last screen.
    await page.evaluate("porthole.replayPlay()")
    await page.wait_for_function("() => porthole.replayState === 'ended'", timeout=30000)
    shown = (await page.evaluate("porthole.replayText()")).splitlines()
    assert shown[-2:] == ["after-the-gap", "the-end"], shown

    # Idle skipping off: the gap is played as recorded, and the place is kept on the new clock.
    await screen_at(page, LINES + IDLE_LIMIT_S + 0.5)
    await page.evaluate("porthole.replaySetIdleLimit(null)")
    assert abs(await page.evaluate("porthole.replayTime()") - (LINES + GAP_S + 0.5)) < 0.01
    assert (await page.evaluate("porthole.replayText()")).splitlines()[-1] == "after-the-gap"
    assert abs(await page.evaluate("porthole.replayDuration()") - (LINES + GAP_S + 1)) < 0.01
    shown = await screen_at(page, LINES + GAP_S - 1)
    assert shown[-1] == f"line-{LINES}", shown


async def test_the_panel_lists_recordings_by_target_and_user(env: Env, new_page: Any, request: Any) -> None:
    cast = numbered_cast()
    store(env, "s_list_plc00000000000000", cast, target="plc-runtime", user="operator", opened_at=1000.0)
    store(env, "s_list_hist0000000000000", cast, target="historian", user="operator", opened_at=2000.0)
    page = await logged_in_page(env, new_page)
    await page.click("[data-testid=recordings] summary")

    async def rows() -> list[list[str]]:
        return await page.eval_on_selector_all(
            "[data-testid=recording-list] tbody tr[data-session-id]",
            "trs => trs.map(tr => [tr.dataset.sessionId, ...[...tr.cells].slice(1, 4).map(td => td.textContent)])",
        )

    await page.click("[data-testid=recordings-refresh]")
    await page.wait_for_selector("[data-testid=recording-list] tbody tr[data-session-id]")
    assert await rows() == [
        ["s_list_hist0000000000000", "operator", "edge-1", "historian"],
        ["s_list_plc00000000000000", "operator", "edge-1", "plc-runtime"],
    ]
    await page.fill("[data-testid=recording-filter-target]", "plc-runtime")
    await page.click("[data-testid=recordings-refresh]")
    await page.wait_for_selector("tr[data-session-id=s_list_hist0000000000000]", state="detached")
    assert [r[0] for r in await rows()] == ["s_list_plc00000000000000"]
    await page.fill("[data-testid=recording-filter-user]", "viewer")
    await page.click("[data-testid=recordings-refresh]")
    await page.wait_for_selector("tr[data-session-id]", state="detached")
    assert "No recordings match" in await page.text_content("[data-testid=recording-list] tbody")

    # By time: both were opened on 1 January 1970 (UTC); a window from 1970-01-02 on has neither.
    await page.fill("[data-testid=recording-filter-user]", "")
    await page.fill("[data-testid=recording-filter-target]", "")
    await page.fill("[data-testid=recording-filter-since]", "1970-01-02")
    await page.click("[data-testid=recordings-refresh]")
    await page.wait_for_selector("tr[data-session-id]", state="detached")
    await page.fill("[data-testid=recording-filter-since]", "1969-12-30")
    await page.fill("[data-testid=recording-filter-until]", "1970-01-02")
    await page.click("[data-testid=recordings-refresh]")
    await page.wait_for_selector("tr[data-session-id=s_list_hist0000000000000]")
    assert len(await rows()) == 2

    # A row's Play button plays it in the player.
    await page.click("[data-testid=recordings-refresh]")
    await page.click("tr[data-session-id=s_list_plc00000000000000] [data-testid=recording-play]")
    await page.wait_for_selector("[data-testid=replay] .ap-term-text")
    assert await page.text_content("[data-testid=replay-title]") == "s_list_plc00000000000000"
    await page.wait_for_function("() => porthole.replayState === 'playing'")
    await page.screenshot(path=str(artifacts_dir(request.node) / "player.png"))
