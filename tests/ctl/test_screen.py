"""`porthole ctl show` on a screen session: the sidecar's video figures (fps,
bitrate, frames) next to the agent's facts. Real Xvfb, real porthole-core
capturing and encoding VP8, aiortc receiving the video."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from tests.agent.test_terminal import wait_target
from tests.ctl.test_ctl import admin_socket, ctl, wait_stats

XVFB_START_TIMEOUT_S = 10.0


@pytest.fixture
def xvfb():
    """A fresh Xvfb on a free display number; yields ":N"."""
    n = next(
        n
        for n in range(90 + os.getpid() % 300, 1000)
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists()
    )
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "640x480x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sock = Path(f"/tmp/.X11-unix/X{n}")
    try:
        deadline = time.monotonic() + XVFB_START_TIMEOUT_S
        while not sock.exists():
            assert proc.poll() is None, "Xvfb exited"
            assert time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_show_a_screen_session(agent_factory, xvfb):
    agent = await agent_factory(
        extra_toml=f'\n[[screens]]\nid = "desk"\ndisplay = "{xvfb}"\nwidth = 640\nheight = 480\nfps = 10\n'
    )
    sock = admin_socket(agent)
    await wait_target(agent, "desk")

    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN: host candidates in the test netns
    frames = asyncio.Event()
    pulls: list[asyncio.Task] = []  # held, or the loop may drop a reader mid-stream

    @pc.on("track")
    def on_track(track):
        async def pull():
            with contextlib.suppress(MediaStreamError):  # the track ends when the session does
                while True:
                    await track.recv()
                    frames.set()

        pulls.append(asyncio.ensure_future(pull()))

    pc.addTransceiver("video", direction="recvonly")
    pc.createDataChannel("input")
    await pc.setLocalDescription(await pc.createOffer())
    sid, token = agent.sign("desk", kind="screen", mode="view")
    try:
        await agent.hub.send(
            "webrtc:offer", {"session_id": sid, "type": "offer", "sdp": pc.localDescription.sdp, "grant": token}
        )
        answer = await agent.hub.wait_event(sid, "webrtc:answer", timeout=15)
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        await asyncio.wait_for(frames.wait(), 20)
        await asyncio.sleep(1.5)  # the encoder's per-second figures need a second of frames

        r = await ctl("show", sid, "--json", socket=sock)
        assert r.code == 0, r
        s = r.json()
        assert s["kind"] == "screen" and s["mode"] == "view" and s["target_id"] == "desk"
        assert s["target_kind"] == "screen" and s["state"] == "running" and s["pid"] == 0 and s["exec_id"] == ""
        v = s["transport"]["screen"]
        assert v is not None, s["transport"]
        assert (v["video_width"], v["video_height"]) == (640, 480) and v["target_fps"] == 10
        assert v["frames"] > 0 and v["bytes_encoded"] > 0 and v["fps"] > 0 and v["bitrate_kbps"] > 0, v

        r = await ctl("show", sid, socket=sock)
        assert r.code == 0, r
        assert re.search(r"^video\n(  .*\n)*  fps\s+\d+\.\d \(target 10\)", r.out, re.M), r.out
        assert re.search(r"bitrate\s+\d+ kbit/s", r.out) and re.search(r"encode time\s+last \d", r.out), r.out
        r = await ctl("sessions", socket=sock)
        assert re.search(rf"^{sid}\s+alice\s+desk\s+screen\s+view\s+running", r.out, re.M), r.out

        r = await ctl("close", sid, socket=sock)
        assert r.code == 0 and "closed" in r.out, r
        st = await wait_stats(sock, lambda st: st["sessions_ended"] == 1)
        assert st["ended_by_reason"] == {"closed_by_admin": 1} and st["sessions_started"] == 1
    finally:
        await pc.close()
        for t in pulls:
            t.cancel()
        await asyncio.gather(*pulls, return_exceptions=True)
