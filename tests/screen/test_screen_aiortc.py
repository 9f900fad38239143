"""Screen sessions on the real agent and porthole-core, with aiortc (a WebRTC
stack we did not write) as the receiver: the pixels of a pattern drawn on a
real Xvfb arrive, input reaches the X server only when the grant allows it,
and bad input is refused without stopping the stream."""

from __future__ import annotations

import asyncio
import time

from tests.screen.client import ScreenClient, near
from tests.screen.conftest import SCREEN_ID, KeyRecorder, pointer

RED, BLUE, GREEN, YELLOW = (255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 255, 0)


async def open_screen(agent, mode: str = "interactive", clipboard: bool = False) -> tuple[str, ScreenClient]:
    client = ScreenClient(clipboard=clipboard)
    sid, token = agent.sign(SCREEN_ID, kind="screen", mode=mode)
    agent.clients.append(client)
    await agent.hub.send(
        "webrtc:offer", {"session_id": sid, "type": "offer", "sdp": await client.offer(), "grant": token}
    )
    try:
        answer = await agent.hub.wait_event(sid, "webrtc:answer", timeout=15)
    except TimeoutError:
        raise AssertionError(f"no answer; agent said {agent.hub.events[sid]!r}\n{agent.log()[-3000:]}") from None
    await client.accept(answer["sdp"])
    async with asyncio.timeout(20):
        await client.opened.wait()
    await client.wait_for(lambda: client.frames > 0, what="a first decoded frame")
    return sid, client


async def wait_colours(client: ScreenClient, left, right, what: str) -> None:
    await client.wait_for(
        lambda: (
            client.last_frame is not None
            and near(client.pixel(0.25, 0.5), left)
            and near(client.pixel(0.75, 0.5), right)
        ),
        what=what,
    )


async def test_pattern_arrives_and_changes(screen_agent, xvfb):
    inv = {t["id"]: t for t in screen_agent.hub.inventory}
    assert inv[SCREEN_ID]["kind"] == "screen" and inv[SCREEN_ID]["state"] == "running", inv
    xvfb.halves("#ff0000", "#0000ff")
    sid, client = await open_screen(screen_agent)
    f = client.last_frame
    assert f is not None
    assert (f.width, f.height) == (640, 360), "the 1280x720 display is scaled to the configured 640x360"
    await wait_colours(client, RED, BLUE, "red | blue")
    xvfb.halves("#00ff00", "#ffff00")
    await wait_colours(client, GREEN, YELLOW, "green | yellow after the pattern changed")
    await screen_agent.hub.send("webrtc:disconnect", {"session_id": sid, "reason": "test_done"})


async def test_input_arrives_in_x_server(screen_agent, xvfb):
    _sid, client = await open_screen(screen_agent)
    keys = KeyRecorder(xvfb)
    try:
        # Video is 640x360, the display 1280x720: (100, 50) is (200, 100) on the display.
        client.send({"type": "move", "x": 100, "y": 50})
        client.send({"type": "ping"})
        assert (await client.reply(0)) == {"type": "pong"}
        assert pointer(xvfb) == (200, 100)
        client.send({"type": "button", "button": 1, "down": True, "x": 320, "y": 180})
        client.send({"type": "button", "button": 1, "down": False})
        client.send({"type": "key", "keysym": 0x61, "down": True})  # "a"
        client.send({"type": "key", "keysym": 0x61, "down": False})
        client.send({"type": "ping"})
        assert (await client.reply(1)) == {"type": "pong"}, client.replies
        assert pointer(xvfb) == (640, 360)
        deadline = time.monotonic() + 10
        while "keysym 0x61, a" not in keys.text():
            assert time.monotonic() < deadline, f"xev saw no 'a': {keys.text()[-1500:]}"
            await asyncio.sleep(0.1)
        assert "KeyRelease" in keys.text()
    finally:
        keys.stop()


async def test_view_only_grant_refuses_input(screen_agent, xvfb):
    _sid, client = await open_screen(screen_agent, mode="view")
    before = pointer(xvfb)
    client.send({"type": "move", "x": 10, "y": 10})
    client.send({"type": "key", "keysym": 0x61, "down": True})
    for i in range(2):
        r = await client.reply(i)
        assert r["type"] == "error" and r["code"] == "input_not_allowed", r
    assert pointer(xvfb) == before
    frames = client.frames
    xvfb.fill("#808080")
    await client.wait_for(lambda: client.frames > frames, what="video after refused input")


async def test_bad_input_is_refused_and_stream_goes_on(screen_agent, xvfb):
    _sid, client = await open_screen(screen_agent)
    client.send({"type": "move", "x": 8, "y": 8})
    client.send({"type": "ping"})
    await client.reply(0)
    start = pointer(xvfb)
    bad = [
        ("garbage {{{", "bad_message"),
        ('{"type":"move","x":640,"y":0}', "out_of_range"),  # x is 0..639
        ('{"type":"move","x":-5,"y":10}', "out_of_range"),
        ('{"type":"button","button":1,"down":true,"x":99999,"y":1}', "out_of_range"),
        ('{"type":"key","keysym":268435455,"down":true}', "unknown_keysym"),
        ('{"type":"key","keysym":"a","down":true}', "bad_message"),
        ('{"type":"teleport"}', "bad_message"),
        ("x" * 5000, "message_too_large"),
    ]
    for i, (msg, code) in enumerate(bad):
        client.send(msg)
        r = await client.reply(1 + i)
        assert r["type"] == "error" and r["code"] == code and r.get("message"), (msg[:40], r)
    assert pointer(xvfb) == start, "a refused message moved the pointer"
    xvfb.halves("#ff0000", "#0000ff")
    await wait_colours(client, RED, BLUE, "the stream after bad input")
    # The session is still fully usable.
    client.send({"type": "move", "x": 50, "y": 60})
    client.send({"type": "ping"})
    assert (await client.reply(1 + len(bad))) == {"type": "pong"}
    assert pointer(xvfb) == (100, 120)
