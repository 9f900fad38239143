"""What the screen bench section drives: its own porthole-core (no agent or
server: signaling is not what it measures), an aiortc receiver that decodes
the VP8 track, and the seed-000 GStreamer pipeline as the reference."""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
from pathlib import Path

import grpc
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb
from porthole.rpc.v1 import sidecar_pb2_grpc

# porthole-core serves in well under a second.
SIDECAR_START_TIMEOUT_S = 15.0
SESSION_TIMEOUT_S = 30.0
# Luma at the centre of the picture above this is "white", below "black".
WHITE_LUMA = 128
# Seed 000's pipeline, with a caps filter for the same 30 fps and a sink that
# prints a line per encoded frame (counted for the fps held).
GST_PIPELINE = (
    "ximagesrc display-name={display} show-pointer=false ! video/x-raw,framerate=30/1 ! "
    "videoconvert ! vp8enc deadline=1 target-bitrate=2000000 ! fakesink silent=false sync=false"
)
_PTS = re.compile(r"fakesink0:sink\) \(\d+ bytes, dts: [^,]*, pts: (\d+):(\d+):([\d.]+)")


class Sidecar:
    """porthole-core on a unix socket in workdir, ICE on iface."""

    def __init__(self, core: str, iface: str, workdir: Path) -> None:
        self.sock = workdir / "screen-core.sock"
        self.argv = [core, "--listen", str(self.sock), "--log-level", "warn", "--ice-interfaces", iface]
        self.proc: subprocess.Popen | None = None
        self.channel: grpc.aio.Channel | None = None
        self._stub: sidecar_pb2_grpc.SidecarStub | None = None

    async def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE)
        deadline = time.monotonic() + SIDECAR_START_TIMEOUT_S
        while not self.sock.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise PortholeError("internal", f"porthole-core did not start (exit {self.proc.poll()})")
            await asyncio.sleep(0.05)
        self.channel = grpc.aio.insecure_channel(f"unix:{self.sock}")
        self._stub = sidecar_pb2_grpc.SidecarStub(self.channel)

    @property
    def stub(self) -> sidecar_pb2_grpc.SidecarStub:
        if self._stub is None:
            raise PortholeError("internal", "porthole-core is not started")
        return self._stub

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def stats(self, sid: str) -> pb.ScreenStats:
        resp = await self.stub.GetStats(pb.GetStatsRequest(session_id=sid), timeout=5)
        return resp.sessions[0].screen

    async def stop(self) -> None:
        if self.channel is not None:
            await self.channel.close()
        if self.proc and self.proc.poll() is None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # porthole-core exits when its stdin closes
            try:
                await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 10)
            except TimeoutError:
                self.proc.kill()
                self.proc.wait()


class Receiver:
    """aiortc: receives and decodes the video; notes when the centre turns white or black."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pc.addTransceiver("video", direction="recvonly")
        self.frames = 0
        self.white: bool | None = None
        self.changed_at = 0.0  # time.monotonic() of the first frame with the new centre
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.pc.on("track", self._on_track)

    def _on_track(self, track) -> None:
        async def read():
            with contextlib.suppress(MediaStreamError):
                while True:
                    frame = await track.recv()
                    now = time.monotonic()
                    self.frames += 1
                    y = frame.planes[0]
                    white = memoryview(y)[(frame.height // 2) * y.line_size + frame.width // 2] > WHITE_LUMA
                    if white != self.white:
                        self.white, self.changed_at = white, now
                        self._changed.set()

        self._task = asyncio.ensure_future(read())

    async def wait_centre(self, white: bool, timeout: float = 10.0) -> float:
        async with asyncio.timeout(timeout):
            while self.white is not white:
                self._changed.clear()
                await self._changed.wait()
        return self.changed_at

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        await self.pc.close()


async def open_session(sidecar: Sidecar, display: str, sid: str) -> Receiver:
    rx = Receiver()
    await rx.pc.setLocalDescription(await rx.pc.createOffer())
    resp = await sidecar.stub.CreateSession(
        pb.CreateSessionRequest(
            session_id=sid,
            offer_sdp=rx.pc.localDescription.sdp,
            kind="screen",
            screen=pb.ScreenOptions(display=display, width=1280, height=720, fps=30),
        ),
        timeout=10,
    )
    # aiortc does not trickle; the sidecar finds it as a peer-reflexive candidate.
    await rx.pc.setRemoteDescription(RTCSessionDescription(sdp=resp.answer_sdp, type="answer"))
    deadline = time.monotonic() + SESSION_TIMEOUT_S
    while rx.frames == 0:
        if time.monotonic() > deadline:
            raise PortholeError("internal", "no video frame from porthole-core")
        await asyncio.sleep(0.05)
    return rx


def gst_available() -> bool:
    try:
        r = subprocess.run(["gst-inspect-1.0", "ximagesrc"], capture_output=True, timeout=20)
        r2 = subprocess.run(["gst-inspect-1.0", "vp8enc"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0 and r2.returncode == 0


def gst_start(display: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["gst-launch-1.0", "-v", *GST_PIPELINE.format(display=display).split()],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def gst_stop_fps(proc: subprocess.Popen, after_s: float) -> tuple[float, int]:
    """Stops the pipeline; its fps over the encoded frames with pts past after_s, and that count."""
    proc.terminate()
    try:
        out = proc.communicate(timeout=10)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()[0].decode(errors="replace")
    pts = [int(h) * 3600 + int(m) * 60 + float(s) for h, m, s in _PTS.findall(out)]
    pts = [p for p in pts if p >= after_s]
    if len(pts) < 2:
        return 0.0, len(pts)
    return (len(pts) - 1) / (pts[-1] - pts[0]), len(pts)
