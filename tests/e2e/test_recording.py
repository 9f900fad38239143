"""Session recording on the whole real product: the real server and agent (with
recording on), a real container, aiortc as the client. The agent records the
session as asciicast v2 and uploads it; the user lists and downloads it from
the server; the file passes a strict asciicast v2 check and plain
`asciinema play` replays exactly the output the client saw."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.agent.test_terminal import wait_no_extra_processes
from tests.e2e.test_browser_terminal import login
from tests.support.artifacts import artifacts_dir
from tests.support.fullstack import start_stack
from tests.support.rtc_client import TerminalClient

UPLOAD_TIMEOUT_S = 30.0
ASCIICAST_CODES = {"o", "i", "r", "m"}


def validate_asciicast_v2(text: str) -> tuple[dict, list[list]]:
    """A strict reading of https://docs.asciinema.org/manual/asciicast/v2/: raises AssertionError."""
    lines = text.splitlines()
    assert lines, "empty file"
    header = json.loads(lines[0])
    assert isinstance(header, dict) and header.get("version") == 2, header
    for k in ("width", "height"):
        assert isinstance(header.get(k), int) and header[k] > 0, header
    assert isinstance(header.get("timestamp", 0), int)
    if "env" in header:
        assert isinstance(header["env"], dict) and all(isinstance(v, str) for v in header["env"].values())
    events, last = [], 0.0
    for n, line in enumerate(lines[1:], 2):
        ev = json.loads(line)
        assert isinstance(ev, list) and len(ev) == 3, f"line {n}: {line[:100]}"
        t, code, data = ev
        assert isinstance(t, (int, float)) and not isinstance(t, bool) and t >= last, f"line {n}: time {t}"
        assert code in ASCIICAST_CODES and isinstance(data, str), f"line {n}: {line[:100]}"
        if code == "r":
            cols, _, rows = data.partition("x")
            assert cols.isdigit() and rows.isdigit(), f"line {n}: resize {data!r}"
        last = t
        events.append(ev)
    return header, events


@pytest.fixture
async def recording_stack(tmp_path):
    st = await start_stack(
        tmp_path,
        agent_extra="""
[recording]
enabled = true
input = true
dir = "device-recordings"
""",
    )
    yield st.dc, st.dc.directory, st.logs
    await st.stop()


async def test_recorded_session_replays_to_the_same_output(recording_stack, make_container, new_page, request):
    dc, dev_dir, _logs = recording_stack
    c = make_container()
    async with aiohttp.ClientSession() as http:
        async with http.post(dc.url + "/api/login", json={"username": dc.username, "password": dc.password}) as r:
            assert r.status == 200
            token = (await r.json())["token"]
        auth = {"Authorization": f"Bearer {token}"}

        sio = socketio.AsyncClient(reconnection=False)
        answers: asyncio.Queue = asyncio.Queue()
        ended: asyncio.Queue = asyncio.Queue()
        sio.on("webrtc:answer", answers.put_nowait, namespace="/client")
        sio.on("webrtc:disconnect", ended.put_nowait, namespace="/client")
        await sio.connect(dc.url, namespaces=["/client"], auth={"token": token}, transports=["websocket"])
        try:
            async with asyncio.timeout(15):
                while True:
                    ack = await sio.call("devices:list", namespace="/client")
                    if any(t["id"] == c.name for d in ack["devices"] for t in d["targets"]):
                        break
                    await asyncio.sleep(0.3)
            ack = await sio.call(
                "session:open",
                {"device_id": dc.device_id, "target_id": c.name, "cols": 90, "rows": 30},
                namespace="/client",
            )
            assert ack["ok"], ack
            sid = ack["session_id"]
            client = TerminalClient()
            offer = {"session_id": sid, "type": "offer", "sdp": await client.offer()}
            assert (await sio.call("webrtc:offer", offer, namespace="/client"))["ok"]
            answer = await asyncio.wait_for(answers.get(), 15)
            await client.accept(answer["sdp"])
            async with asyncio.timeout(20):
                await client.opened.wait()

            client.type("echo rec-$((6*7)); printf 'A\\303\\251\\342\\202\\254Z\\n'\r")
            await client.wait_output("rec-42")
            await client.wait_output("Aé€Z")
            client.resize(100, 40)
            client.type("exit 5\r")
            async with asyncio.timeout(15):
                assert await client.exit_code == 5
            await asyncio.wait_for(ended.get(), 15)
            await client.close()
        finally:
            await sio.disconnect()
        await wait_no_extra_processes(c)

        # The agent uploads the finished file; the user finds it in the list.
        async with asyncio.timeout(UPLOAD_TIMEOUT_S):
            while True:
                async with http.get(dc.url + "/api/recordings", headers=auth) as r:
                    assert r.status == 200
                    listed = (await r.json())["recordings"]
                if any(x["session_id"] == sid for x in listed):
                    break
                await asyncio.sleep(0.3)
        mine = next(x for x in listed if x["session_id"] == sid)
        assert mine["user"] == dc.username and mine["target"] == c.name and mine["device"] == dc.device_id
        async with http.get(dc.url + f"/api/recordings/{sid}", headers=auth) as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("application/x-asciicast")
            cast = await r.text()
        async with http.get(dc.url + f"/api/recordings/{sid}") as r:
            assert r.status == 401  # no token, no recording

    header, events = validate_asciicast_v2(cast)
    assert (header["width"], header["height"]) == (90, 30)
    recorded = "".join(d for _, code, d in events if code == "o")
    assert recorded == client.text()  # byte for byte what the client saw
    typed = "".join(d for _, code, d in events if code == "i")
    assert "exit 5\r" in typed  # input recorded, as the policy says
    assert ["r", "100x40"] in [e[1:] for e in events]
    # The device keeps no copy once the server has it.
    assert not list((dev_dir / "device-recordings").glob("*.cast"))

    # Plain asciinema replays it to the same output.
    path = dev_dir / "replay.cast"
    path.write_text(cast)
    asciinema = shutil.which("asciinema", path=str(Path(sys.executable).parent))
    assert asciinema, "asciinema (a pinned dev dependency) is not installed in the venv"
    played = await asyncio.to_thread(
        subprocess.run,
        [asciinema, "play", "-s", "1000", str(path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert played.returncode == 0, played.stderr
    assert played.stdout.decode() == recorded

    # The page lists it (by target and user) and plays it back in its player; at the end the screen is the client's.
    page = await new_page(viewport={"width": 1200, "height": 900})
    await login(page, dc)
    listed = await page.evaluate(f"porthole.listRecordings({{target: {c.name!r}, user: {dc.username!r}}})")
    assert [r["session_id"] for r in listed] == [sid]
    await page.evaluate(f"porthole.replay({sid!r}, {{autoPlay: false}})")
    assert await page.evaluate("porthole.replayState") == "ready"
    await page.evaluate("porthole.replaySeek(porthole.replayDuration())")
    shown = await page.evaluate("porthole.replayText()")
    assert "rec-42" in shown and "Aé€Z" in shown, shown
    await page.screenshot(path=str(artifacts_dir(request.node) / "replay.png"))
