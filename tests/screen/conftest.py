"""Fixtures of the screen tests: a private Xvfb, and an agent offering it as a screen target."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from porthole import xdisplay

SCREEN_ID = "desk"
# xev starts in milliseconds; a machine this slow has other problems.
READY_TIMEOUT_S = 10.0


@pytest.fixture
def xvfb():
    x = xdisplay.start(1280, 720)
    yield x
    x.stop()


@pytest.fixture
async def screen_agent(agent_factory, xvfb):
    """The real agent (and porthole-core) with [[screens]] desk = the Xvfb, shown at 640x360."""
    return await agent_factory(
        extra_toml=f"""
[[screens]]
id = "{SCREEN_ID}"
name = "Test desk"
display = "{xvfb.display}"
width = 640
height = 360
fps = 30
"""
    )


def pointer(x: xdisplay.Xvfb) -> tuple[int, int]:
    out = x.run("xdotool", "getmouselocation", "--shell").stdout.decode()
    kv = dict(line.split("=", 1) for line in out.split() if "=" in line)
    return int(kv["X"]), int(kv["Y"])


class KeyRecorder:
    """`xev -root` on the display: records the key events the X server delivers."""

    def __init__(self, x: xdisplay.Xvfb) -> None:
        # stdbuf: xev's stdout is a pipe, which libc would block-buffer.
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "xev", "-root", "-event", "keyboard"],
            env=x.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None  # stdout=PIPE
        self.stdout = self.proc.stdout
        os.set_blocking(self.stdout.fileno(), False)
        self.out = b""
        # Ready once a probe key typed by xdotool shows up (xev selected its events).
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "F12" not in self.text():
            assert time.monotonic() < deadline, "xev never reported the probe key"
            x.run("xdotool", "key", "F12")
            time.sleep(0.1)
        self.out = b""

    def text(self) -> str:
        chunk = self.stdout.read()
        if chunk:
            self.out += chunk
        return self.out.decode(errors="replace")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.stdout.close()


@pytest.fixture
async def screen_stack(tmp_path, xvfb):
    """The whole product (real server, agent, porthole-core) with the Xvfb as screen target "desk" at 1280x720."""
    from tests.support.fullstack import start_stack

    st = await start_stack(
        tmp_path,
        targets="[targets]\ndocker = false\n",
        agent_extra=f"""
[[screens]]
id = "{SCREEN_ID}"
name = "Test desk"
display = "{xvfb.display}"
""",
    )
    yield st
    await st.stop()


def decode_png(data: bytes):
    """PNG bytes → an rgb24 av.VideoFrame (no PIL here; PyAV decodes PNG)."""
    import io

    import av

    with av.open(io.BytesIO(data), mode="r") as c:
        return next(c.decode(video=0)).reformat(format="rgb24")


def rgb_at(frame, fx: float, fy: float) -> tuple[int, int, int]:
    plane = frame.planes[0]
    x, y = int(frame.width * fx), int(frame.height * fy)
    data = bytes(plane)
    off = y * plane.line_size + 3 * x
    return data[off], data[off + 1], data[off + 2]
