"""A screen client on aiortc: receives the device's VP8 track (decoded by
aiortc's own libvpx binding) and speaks the `input` channel protocol of
docs/protocol.md, as a third-party client would; with clipboard=True also
the `clipboard` channel (§5c)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import TYPE_CHECKING

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

if TYPE_CHECKING:
    import av


class ScreenClient:
    def __init__(self, *, ice_servers: list | None = None, clipboard: bool = False) -> None:
        # Never aiortc's default (a public STUN server): none, or what a test gives (e.g. the ack's TURN).
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers or []))
        self.pc.addTransceiver("video", direction="recvonly")
        self.channel = self.pc.createDataChannel("input")
        self.opened = asyncio.Event()
        self.replies: list[dict] = []
        self.frames = 0
        self.last_frame: av.VideoFrame | None = None
        self._changed = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self.channel.on("open", self.opened.set)
        self.channel.on("message", self._on_message)
        self.pc.on("track", self._on_track)
        # The `clipboard` channel's messages from the device, in order.
        self.clip: list[dict] = []
        self.clip_channel = self.pc.createDataChannel("clipboard") if clipboard else None
        if self.clip_channel is not None:
            self.clip_channel.on("message", self._on_clip)

    def _on_clip(self, msg) -> None:
        self.clip.append(json.loads(msg))
        self._changed.set()

    def send_clip(self, obj: dict) -> None:
        assert self.clip_channel is not None, "a ScreenClient(clipboard=True) has the clipboard channel"
        self.clip_channel.send(json.dumps(obj))

    def _on_message(self, msg) -> None:
        self.replies.append(json.loads(msg))
        self._changed.set()

    def _on_track(self, track) -> None:
        async def read():
            with contextlib.suppress(MediaStreamError):
                while True:
                    self.last_frame = await track.recv()
                    self.frames += 1
                    self._changed.set()

        self._reader = asyncio.ensure_future(read())

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    def send(self, obj: dict | str) -> None:
        self.channel.send(obj if isinstance(obj, str) else json.dumps(obj))

    async def wait_for(self, predicate, timeout: float = 20.0, what: str = "condition") -> None:
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"timed out waiting for {what}; frames={self.frames} replies={self.replies}") from None

    async def reply(self, start: int, timeout: float = 10.0) -> dict:
        await self.wait_for(lambda: len(self.replies) > start, timeout, "a reply on the input channel")
        return self.replies[start]

    def pixel(self, fx: float, fy: float) -> tuple[int, int, int]:
        """RGB of the last decoded frame at a fraction of its width and height."""
        assert self.last_frame is not None, "no frame received yet"
        f = self.last_frame.reformat(format="rgb24")
        plane = f.planes[0]
        x, y = int(f.width * fx), int(f.height * fy)
        data = bytes(plane)
        off = y * plane.line_size + 3 * x
        return data[off], data[off + 1], data[off + 2]

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        await self.pc.close()


def near(rgb: tuple[int, int, int], want: tuple[int, int, int], tol: int = 40) -> bool:
    """Within codec tolerance: I420 (BT.601, limited range) and VP8 shift flat colours by a few levels."""
    return all(abs(a - b) <= tol for a, b in zip(rgb, want, strict=True))
