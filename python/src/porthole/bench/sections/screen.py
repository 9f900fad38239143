"""Screen streaming: capture + convert + encode time, fps held, porthole-core's
CPU on a static and a busy screen, glass-to-glass latency; seed 000's
GStreamer pipeline as the reference."""

from __future__ import annotations

import asyncio
import random
import sys
import time

from porthole import xdisplay
from porthole.bench import procstat
from porthole.bench.context import Context
from porthole.bench.figures import Figure
from porthole.bench.screen_chromium import ChromiumReceiver
from porthole.bench.screenrx import GST_PIPELINE, Sidecar, gst_available, gst_start, gst_stop_fps, open_session
from porthole.bench.sections import notes, section
from porthole.rpc.v1 import sidecar_pb2 as pb

KEY = "screen"
SID = "bench-screen"
# After a change of content: the encoder's rate control and the receiver settle.
SETTLE_S = 2.0
# Between two latency samples, plus up to one frame of random jitter so the
# changes do not lock to the capture clock's phase.
LATENCY_GAP_S = 0.4
FRAME_S = 1 / 30
BUSY = ("ico", "-faces", "-geometry", "1280x720+0+0")  # x11-apps: polygons redrawn every frame, full screen
TICKER = ("ico", "-geometry", "160x120+0+0")  # a small moving corner: keeps frames flowing


@section(
    KEY,
    "Screen streaming (1280x720@30)",
    f"""\
One porthole-core (started by the bench, no agent or server: signaling is not
measured here) streams a private 1280x720 Xvfb to an aiortc receiver that
decodes every frame (VP8, its own libvpx binding), over the test interface.
**Encode time** is capture (XShmGetImage) + BGRX→I420 + VP8 encode per frame,
as porthole-core reports it (`ScreenStats.encode_p50_ms/p99_ms`, over the last
256 frames of the busy window). **fps held** is porthole-core's frames sent per
second, sampled each second of the busy window, and the receiver's decoded
frames per second over it. **CPU** is porthole-core's (utime+stime)/wall over
a window with the screen **static** (one colour; DAMAGE reports nothing, so
only a repeat per second is encoded) and **busy** (`ico -faces` redrawing the
whole screen). **Glass-to-glass** times, on the bench's clock, from starting
`xsetroot -solid` (white ↔ black, the whole screen) to the receiver's first
decoded frame whose centre has the new colour; a small `ico` in a corner keeps
frames flowing meanwhile. It includes xsetroot's own run (measured alone as
the floor), waiting for the next capture tick (≤ 33 ms), encode, transport,
and aiortc's jitter buffer, which hands a frame over only when the next
frame's first packet arrives (one frame period, ~33 ms). The same is then
measured with headless Chromium as the receiver, to the presentation time
`requestVideoFrameCallback` reports for the first frame whose centre changed
(Chromium renders a frame as soon as it is complete). The full run then keeps
one Chromium session up for 5.5 min (seed 000: > 5 min) and reports its
uptime, decoded fps and `freezeCount`; Chromium counts a freeze whenever a
frame comes 150 ms later than the average, which includes the gaps of a
screen that simply did not change (nothing is sent then), so that count is
an upper bound of what a person sees. The reference is seed 000's pipeline run by `gst-launch-1.0` on the same
screens: `{GST_PIPELINE.format(display=":N")}` (encode only, no WebRTC).""",
)
async def run(ctx: Context) -> list[Figure]:
    p = ctx.params
    window = p.screen_seconds
    settle = min(SETTLE_S, window)  # the smoke run's windows are 1 s
    figs: list[Figure] = []
    x = xdisplay.start(1280, 720)
    sidecar = Sidecar(ctx.core, ctx.iface, ctx.workdir)
    clients = []
    rx = None
    try:
        await sidecar.start()
        x.fill("#000000")
        rx = await open_session(sidecar, x.display, SID)
        meter = procstat.CpuMeter({"porthole-core": sidecar.pid})

        # Static screen.
        await asyncio.sleep(settle)
        meter.start()
        await asyncio.sleep(window)
        static_cpu = meter.stop()["porthole-core"]

        # Busy screen.
        busy = x.spawn(*BUSY)
        clients.append(busy)
        await asyncio.sleep(settle)
        fps: list[float] = []
        f0, t0 = rx.frames, time.monotonic()
        meter.start()
        for _ in range(max(1, int(window))):
            await asyncio.sleep(1.0)
            fps.append((await sidecar.stats(SID)).fps)
        busy_cpu = meter.stop()["porthole-core"]
        rx_fps = (rx.frames - f0) / (time.monotonic() - t0)
        st = await sidecar.stats(SID)
        busy.terminate()
        busy.wait()

        # Glass to glass.
        ticker = x.spawn(*TICKER)
        clients.append(ticker)
        x.fill("#000000")
        await rx.wait_centre(False)
        await asyncio.sleep(settle)
        g2g: list[float] = []
        tool: list[float] = []
        for i in range(p.screen_latency_samples):
            white = i % 2 == 0
            await asyncio.sleep(LATENCY_GAP_S + random.uniform(0, FRAME_S))
            t0 = time.monotonic()
            await asyncio.to_thread(x.fill, "#ffffff" if white else "#000000")
            tool.append((time.monotonic() - t0) * 1000)
            g2g.append((await rx.wait_centre(white) - t0) * 1000)
        await sidecar.stub.CloseSession(pb.CloseSessionRequest(session_id=SID), timeout=10)
        g2g_chromium, g2g_received = await _chromium_g2g(sidecar, x, p.screen_latency_samples, settle)
        soak = await _soak(sidecar, x, p.screen_soak_seconds) if p.screen_soak_seconds > 0 else []
        ticker.terminate()
        ticker.wait()
    finally:
        if rx is not None:
            await rx.close()
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
        await sidecar.stop()

    how_core = "porthole-core, 1280x720@30 VP8 (cpu-used -8, CBR from 2000 kbps), aiortc receiver"
    figs += [
        Figure.of(
            KEY,
            "encode time per frame (capture+I420+VP8)",
            "porthole",
            "ms",
            [st.encode_p50_ms],
            f"{how_core}; busy screen; median of the last 256 frames",
            p99_ms=st.encode_p99_ms,
        ),
        Figure.of(
            KEY,
            "encode time per frame, p99",
            "porthole",
            "ms",
            [st.encode_p99_ms],
            f"{how_core}; busy screen; 99th percentile of the last 256 frames",
        ),
        Figure.of(
            KEY,
            "fps held, sent (busy screen)",
            "porthole",
            "fps",
            fps,
            f"{how_core}; ScreenStats.fps each second of {window:g} s",
            better="higher",
        ),
        Figure.of(
            KEY,
            "fps held, decoded by the receiver",
            "porthole",
            "fps",
            [rx_fps],
            f"aiortc decoded frames / {window:g} s of busy screen",
            better="higher",
        ),
        Figure.of(
            KEY,
            "CPU, porthole-core, static screen",
            "porthole",
            "% of a core",
            [static_cpu * 100],
            f"(utime+stime)/wall over {window:g} s, one session, nothing drawn",
        ),
        Figure.of(
            KEY,
            "CPU, porthole-core, busy screen",
            "porthole",
            "% of a core",
            [busy_cpu * 100],
            f"(utime+stime)/wall over {window:g} s, one session, ico -faces full screen",
            kbps=round(st.bitrate_kbps),
            target_kbps=st.target_bitrate_kbps,
        ),
        Figure.of(
            KEY,
            "glass-to-glass (xsetroot → decoded frame)",
            "porthole",
            "ms",
            g2g,
            f"{len(g2g)} full-screen colour changes, aiortc receiver (adds ~1 frame)",
        ),
        Figure.of(
            KEY,
            "glass-to-glass, Chromium (xsetroot → frame presented)",
            "porthole",
            "ms",
            g2g_chromium,
            f"{len(g2g_chromium)} full-screen colour changes; headless Chromium, requestVideoFrameCallback "
            "presentation time of the first frame with the new centre",
        ),
        Figure.of(
            KEY,
            "change → frame received, Chromium (last packet)",
            "porthole",
            "ms",
            g2g_received,
            "the same changes, to requestVideoFrameCallback's receiveTime: capture wait, encode, "
            "transport; the rest of glass-to-glass is Chromium's decode and render",
        ),
        Figure.of(
            KEY,
            "xsetroot run (part of glass-to-glass)",
            "floor",
            "ms",
            tool,
            "the drawing tool alone: spawn, connect, draw, exit",
        ),
    ]
    figs += soak
    figs += await _reference(x, window, settle)
    x.stop()
    return figs


async def _chromium_g2g(
    sidecar: Sidecar, x: xdisplay.Xvfb, samples: int, settle: float
) -> tuple[list[float], list[float]]:
    """Glass to glass with Chromium presenting the frames (the small ico keeps frames flowing):
    change → presented, and change → the frame's last packet received."""
    sid = SID + "-chromium"
    rx = ChromiumReceiver()
    out: list[float] = []
    received: list[float] = []
    try:
        await rx.open(sidecar, x.display, sid)
        await rx.wait_frames(1)
        x.fill("#000000")
        await rx.wait_centre(False)
        await asyncio.sleep(settle)
        for i in range(samples):
            white = i % 2 == 0
            await asyncio.sleep(LATENCY_GAP_S + random.uniform(0, FRAME_S))
            t0 = time.time()
            await asyncio.to_thread(x.fill, "#ffffff" if white else "#000000")
            shown, got = await rx.wait_centre(white)
            out.append((shown - t0) * 1000)
            if got:
                received.append((got - t0) * 1000)
        await sidecar.stub.CloseSession(pb.CloseSessionRequest(session_id=sid), timeout=10)
    finally:
        await rx.close()
    return out, received


# How often the soak samples Chromium's stats.
SOAK_SAMPLE_S = 10.0


async def _soak(sidecar: Sidecar, x: xdisplay.Xvfb, seconds: float) -> list[Figure]:
    """One Chromium session kept up for `seconds` on a screen with a moving corner."""
    sid = SID + "-soak"
    rx = ChromiumReceiver()
    fps: list[float] = []
    try:
        await rx.open(sidecar, x.display, sid)
        await rx.wait_frames(1)
        t0 = time.monotonic()
        first = await rx.inbound()
        while time.monotonic() - t0 < seconds:
            await asyncio.sleep(SOAK_SAMPLE_S)
            st = await rx.inbound()
            if st["state"] != "connected":
                break
            fps.append(st["framesPerSecond"])
        up = time.monotonic() - t0
        last = await rx.inbound()
        await sidecar.stub.CloseSession(pb.CloseSessionRequest(session_id=sid), timeout=10)
    finally:
        await rx.close()
    how = f"one Chromium session, a small ico moving in a corner, stats every {SOAK_SAMPLE_S:g} s"
    return [
        Figure.of(
            KEY,
            "soak: stream up, Chromium",
            "porthole",
            "min",
            [up / 60],
            f"{how}; stopped at {seconds:g} s or when the connection left 'connected'",
            better="higher",
            state=last["state"],
            frames=last["framesDecoded"] - first["framesDecoded"],
        ),
        Figure.of(KEY, "soak: decoded fps, Chromium", "porthole", "fps", fps, how, better="higher"),
        Figure.of(
            KEY,
            "soak: freezes, Chromium",
            "porthole",
            "count",
            [last["freezeCount"] - first["freezeCount"]],
            f"{how}; inbound-rtp freezeCount over the soak",
        ),
    ]


async def _reference(x: xdisplay.Xvfb, window: float, settle: float) -> list[Figure]:
    """Seed 000's GStreamer pipeline on the same static and busy screens."""
    how = f"gst-launch-1.0 {GST_PIPELINE.format(display=x.display)}"
    if not await asyncio.to_thread(gst_available):
        print(
            "bench: screen: no GStreamer reference (scripts/setup.sh installs gstreamer1.0-tools and "
            "gstreamer1.0-plugins-good)",
            file=sys.stderr,
        )
        return []
    out = []
    for label, busy_argv in (("static", None), ("busy", BUSY)):
        x.fill("#000000")
        client = x.spawn(*busy_argv) if busy_argv else None
        gst = gst_start(x.display)
        await asyncio.sleep(settle)
        meter = procstat.CpuMeter({"gst": gst.pid})
        meter.start()
        await asyncio.sleep(window)
        cpu = meter.stop()["gst"]
        fps, n = await asyncio.to_thread(gst_stop_fps, gst, settle)
        if client:
            client.terminate()
            client.wait()
        out.append(
            Figure.of(
                KEY,
                f"CPU, GStreamer seed-000 pipeline, {label} screen",
                "reference",
                "% of a core",
                [cpu * 100],
                f"{how}; (utime+stime)/wall over {window:g} s",
            )
        )
        if busy_argv:
            out.append(
                Figure.of(
                    KEY,
                    "fps held, GStreamer seed-000 pipeline (busy)",
                    "reference",
                    "fps",
                    [fps],
                    f"{how}; encoded frames by pts after a {settle:g} s settle ({n} frames)",
                    better="higher",
                )
            )
    return out


@notes(KEY)
def _notes(figs: list[Figure]) -> list[str]:
    by = {f.name: f for f in figs}
    enc, g2g = by["encode time per frame (capture+I420+VP8)"], by["glass-to-glass (xsetroot → decoded frame)"]
    cs, cb = by["CPU, porthole-core, static screen"], by["CPU, porthole-core, busy screen"]
    gc = by["glass-to-glass, Chromium (xsetroot → frame presented)"]
    out = [
        f"A busy 1280x720 screen costs porthole-core {cb.median:.0f}% of a core at "
        f"{by['fps held, sent (busy screen)'].median:.0f} fps (encode {enc.median:.1f} ms per frame, "
        f"p99 {enc.extra.get('p99_ms', float('nan')):.1f} ms); a static one {cs.median:.1f}%.",
        f"Glass to glass, median {g2g.median:.0f} ms, p99 {g2g.worst:.0f} ms with aiortc as the receiver; "
        f"with Chromium, median {gc.median:.0f} ms, p99 {gc.worst:.0f} ms (seed 000 asks for under 50 ms; "
        f"xsetroot itself takes {by['xsetroot run (part of glass-to-glass)'].median:.0f} ms of it).",
    ]
    soak = by.get("soak: stream up, Chromium")
    if soak is not None:
        out.append(
            f"Soak: one Chromium session stayed {soak.extra.get('state')} for {soak.median:.1f} min "
            f"({soak.extra.get('frames')} frames, {by['soak: freezes, Chromium'].median:.0f} freezes, "
            f"{by['soak: decoded fps, Chromium'].median:.0f} fps median); seed 000 asks for > 5 min."
        )
    ref = by.get("CPU, GStreamer seed-000 pipeline, busy screen")
    if ref is not None:
        out.append(
            f"Seed 000's GStreamer pipeline uses {ref.median:.0f}% of a core on the same busy screen, "
            f"{by['CPU, GStreamer seed-000 pipeline, static screen'].median:.0f}% on the static one "
            f"(it encodes every frame), at "
            f"{by['fps held, GStreamer seed-000 pipeline (busy)'].median:.0f} fps."
        )
    return out
