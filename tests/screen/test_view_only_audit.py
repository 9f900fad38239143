"""A viewer who moves the mouse over a view-only screen is audited, not once
per message (issue 14, 8; agent/inputaudit.py): real agent, porthole-core,
Xvfb and aiortc; 300 mouse moves become a `session.input_denied` record soon
after, at most one more per 10 s, and the session's end carries the total."""

from __future__ import annotations

import json
import time

from porthole.agent import inputaudit
from tests.screen.test_screen_aiortc import open_screen
from tests.support.waiting import async_wait_for

MOVES = 300


def audit(agent, sid: str, event: str) -> list[dict]:
    out = []
    for line in agent.log().splitlines():
        if "porthole.audit: " in line:
            rec = json.loads(line.split("porthole.audit: ", 1)[1])
            if rec.get("session_id") == sid and rec["event"] == event:
                out.append(rec)
    return out


async def test_view_only_input_attempts_are_audited_rate_limited(screen_agent, xvfb) -> None:
    t0 = time.monotonic()
    sid, client = await open_screen(screen_agent, mode="view")
    for i in range(MOVES):
        client.send({"type": "move", "x": i % 640, "y": i % 360})
    await client.reply(MOVES - 1, timeout=20)
    assert all(r.get("code") == "input_not_allowed" for r in client.replies)
    first = await async_wait_for(
        lambda: audit(screen_agent, sid, "session.input_denied") or None, 15, message="a session.input_denied record"
    )
    assert first[0]["ok"] is False and first[0]["event_code"] == "PA1005" and first[0]["mode"] == "view"
    assert first[0]["code"] == "input_not_allowed" and first[0]["attempts"] > 0

    await screen_agent.hub.send("webrtc:disconnect", {"session_id": sid, "reason": "test_done"})
    ended = await async_wait_for(
        lambda: audit(screen_agent, sid, "session.ended") or None, 15, message="the session's end"
    )
    elapsed = time.monotonic() - t0
    records = audit(screen_agent, sid, "session.input_denied")
    assert sum(r["attempts"] for r in records) == MOVES == records[-1]["total"], records
    assert ended[0]["input_refused"] == MOVES
    # Not one per message: the first, one per RECORD_GAP_S at most, and the last at the end.
    assert len(records) <= 2 + elapsed / inputaudit.RECORD_GAP_S, (len(records), elapsed)
