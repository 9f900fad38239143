"""The screen clipboard both ways through the real agent and porthole-core
(docs/protocol.md §5c): a paste from the client is what an X client pastes, a
copy by an X client reaches the client; each is audited with its direction and
size and never its text; a view-only grant may not write (Xvfb, aiortc, Tk as
the X client)."""

from __future__ import annotations

import asyncio
import json

from porthole import wire
from tests.screen import xclipboard
from tests.screen.test_screen_aiortc import open_screen
from tests.screen.test_view_only_audit import audit
from tests.support.waiting import async_wait_for

FROM_PAGE = "pasted from the page ✓"
FROM_X = "copied on the display é\n" * 2000  # 50 KB: several messages, and Tk sends it by INCR


def clip_text(msgs: list[dict]) -> str | None:
    """The first whole text the device sent, or None while it is incomplete."""
    text = ""
    for m in msgs:
        if m["type"] == "clipboard":
            text += m["text"]
            if not m.get("more"):
                return text
    return None


async def test_clipboard_both_ways_audited_by_size(screen_agent, xvfb) -> None:
    sid, client = await open_screen(screen_agent, clipboard=True)
    client.send_clip({"type": "clipboard", "text": FROM_PAGE})
    n = len(FROM_PAGE.encode())
    await client.wait_for(lambda: any(m["type"] == "clipboard_set" for m in client.clip), what="clipboard_set")
    assert client.clip == [{"type": "clipboard_set", "bytes": n}]
    assert await asyncio.to_thread(xclipboard.paste, xvfb) == FROM_PAGE
    assert await asyncio.to_thread(xclipboard.paste, xvfb, "PRIMARY") == FROM_PAGE

    client.clip.clear()
    owner = await asyncio.to_thread(xclipboard.Copy, xvfb, FROM_X)
    try:
        await client.wait_for(lambda: clip_text(client.clip) is not None, what="the display's copy")
        assert clip_text(client.clip) == FROM_X
        assert all(len(json.dumps(m).encode()) < wire.MAX_CHANNEL_MESSAGE for m in client.clip)
    finally:
        owner.release()

    records = await async_wait_for(
        lambda: r if len(r := audit(screen_agent, sid, "session.clipboard")) >= 2 else None,
        15,
        message="two session.clipboard records",
    )
    assert [(r["direction"], r["bytes"], r["ok"]) for r in records] == [
        ("to_remote", n, True),
        ("from_remote", len(FROM_X.encode()), True),
    ]
    assert records[0]["event_code"] == "PA1008"
    log = screen_agent.log()
    assert FROM_PAGE not in log and "copied on the display" not in log, "the audit carries sizes, never text"
    await screen_agent.hub.send("webrtc:disconnect", {"session_id": sid, "reason": "test_done"})


async def test_view_only_may_not_write_the_clipboard(screen_agent, xvfb) -> None:
    owner = await asyncio.to_thread(xclipboard.Copy, xvfb, "theirs")
    try:
        sid, client = await open_screen(screen_agent, mode="view", clipboard=True)
        client.send_clip({"type": "clipboard", "text": "mine"})
        await client.wait_for(lambda: client.clip, what="a reply on the clipboard channel")
        assert client.clip[0]["code"] == wire.CLIPBOARD_NOT_ALLOWED
        assert await asyncio.to_thread(xclipboard.paste, xvfb) == "theirs"
        rec = await async_wait_for(
            lambda: audit(screen_agent, sid, "session.clipboard") or None, 15, message="a session.clipboard record"
        )
        assert rec[0]["ok"] is False and rec[0]["code"] == wire.CLIPBOARD_NOT_ALLOWED and rec[0]["bytes"] == 4
        assert rec[0]["mode"] == "view"
    finally:
        owner.release()
    await screen_agent.hub.send("webrtc:disconnect", {"session_id": sid, "reason": "test_done"})
