"""Glass to glass in Chromium: a headless Chromium receives the screen track in
a <video> and timestamps, with requestVideoFrameCallback, the first frame it
presents whose centre has the new colour. Unlike aiortc it hands a frame to
the renderer as soon as it is complete."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import Browser, Page, Playwright, async_playwright

from porthole.bench.screenrx import Sidecar
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

CHROMIUM = "/usr/bin/chromium"
# TESTING.md: headless, no sandbox (root), no GPU, nothing fetched; local
# addresses as candidates, not mDNS names porthole-core would not resolve.
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
GATHER_TIMEOUT_MS = 10000

# The page: offer recvonly video, gather every candidate (no trickle here),
# then record each presented frame's centre luma and presentation time.
PAGE_JS = """
async () => {
  const pc = new RTCPeerConnection({iceServers: []});
  pc.addTransceiver("video", {direction: "recvonly"});
  const video = document.createElement("video");
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.append(video);
  const canvas = document.createElement("canvas");
  canvas.width = 1; canvas.height = 1;
  const g = canvas.getContext("2d", {willReadFrequently: true});
  window.bench = {pc, frames: 0, white: null, changedAt: 0, receivedAt: 0};
  const onFrame = (now, meta) => {
    const w = meta.width, h = meta.height;
    g.drawImage(video, w / 2, h / 2, 1, 1, 0, 0, 1, 1);
    const white = g.getImageData(0, 0, 1, 1).data[0] > 128;
    window.bench.frames++;
    if (white !== window.bench.white) {
      window.bench.white = white;
      // Epoch ms: when the frame went to the compositor, and when its last packet arrived.
      window.bench.changedAt = performance.timeOrigin + (meta.presentationTime || now);
      window.bench.receivedAt = meta.receiveTime ? performance.timeOrigin + meta.receiveTime : 0;
    }
    video.requestVideoFrameCallback(onFrame);
  };
  pc.ontrack = (ev) => {
    // As the page does: no extra jitter buffering for a screen.
    if ("jitterBufferTarget" in ev.receiver) ev.receiver.jitterBufferTarget = 0;
    video.srcObject = new MediaStream([ev.track]);
    video.play();
    video.requestVideoFrameCallback(onFrame);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && resolve();
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
  return pc.localDescription.sdp;
}
""".replace("GATHER_TIMEOUT_MS", str(GATHER_TIMEOUT_MS))


class ChromiumReceiver:
    def __init__(self) -> None:
        self._pw: Playwright | None = None
        self._browser: Browser | None = None
        self._page: Page | None = None

    @property
    def page(self) -> Page:
        if self._page is None:
            raise PortholeError("internal", "ChromiumReceiver.open() was not called")
        return self._page

    async def open(self, sidecar: Sidecar, display: str, sid: str) -> None:
        self._pw = pw = await async_playwright().start()
        self._browser = browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        self._page = await browser.new_page()
        offer = await self.page.evaluate(PAGE_JS)
        resp = await sidecar.stub.CreateSession(
            pb.CreateSessionRequest(
                session_id=sid,
                offer_sdp=offer,
                kind="screen",
                screen=pb.ScreenOptions(display=display, width=1280, height=720, fps=30),
            ),
            timeout=10,
        )
        await self.page.evaluate(
            "(sdp) => window.bench.pc.setRemoteDescription({type: 'answer', sdp})", resp.answer_sdp
        )

    async def state(self) -> dict:
        return await self.page.evaluate(
            "({frames: bench.frames, white: bench.white, changedAt: bench.changedAt, receivedAt: bench.receivedAt})"
        )

    async def wait_frames(self, n: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while (await self.state())["frames"] < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Chromium presented fewer than {n} frames")
            await asyncio.sleep(0.05)

    async def wait_centre(self, white: bool, timeout: float = 10.0) -> tuple[float, float]:
        """Epoch seconds at which the first frame with this centre was presented, and received (0: unknown)."""
        deadline = time.monotonic() + timeout
        while True:
            st = await self.state()
            if st["white"] is white:
                return st["changedAt"] / 1000, st["receivedAt"] / 1000
            if time.monotonic() > deadline:
                raise TimeoutError(f"Chromium never showed a {'white' if white else 'black'} centre")
            await asyncio.sleep(0.005)

    async def inbound(self) -> dict:
        """The video inbound-rtp stats Chromium reports (framesDecoded, freezeCount, ...)."""
        return await self.page.evaluate("""async () => {
          let out = {};
          (await bench.pc.getStats()).forEach((r) => { if (r.type === "inbound-rtp" && r.kind === "video") out = r; });
          return {framesDecoded: out.framesDecoded || 0, freezeCount: out.freezeCount || 0,
                  framesPerSecond: out.framesPerSecond || 0, state: bench.pc.connectionState};
        }""")

    async def close(self) -> None:
        if self._browser is not None:
            await self._browser.close()
        if self._pw is not None:
            await self._pw.stop()
