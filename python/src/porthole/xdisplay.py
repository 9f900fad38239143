"""A private Xvfb and a few ways to draw on it: what `porthole demo` offers as
its screen target, and what the screen tests capture. Needs Debian's xvfb and
x11-xserver-utils (xsetroot); scripts/setup.sh installs them."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from porthole.errors import PortholeError

# Xvfb reports its display within milliseconds; this only trips on a broken install.
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
XVFB_UNAVAILABLE = "xvfb_unavailable"


@dataclass
class Xvfb:
    proc: subprocess.Popen
    display: str  # ":N"
    width: int
    height: int

    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Runs an X client on this display to completion."""
        return subprocess.run(list(args), env=self.env(), check=check, capture_output=True, timeout=30)

    def spawn(self, *args: str) -> subprocess.Popen:
        """Starts a long-running X client on this display (stop it yourself)."""
        return subprocess.Popen(list(args), env=self.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def fill(self, colour: str) -> None:
        """Paints the whole root window one colour ("#rrggbb")."""
        self.run("xsetroot", "-solid", colour)

    def halves(self, left: str, right: str) -> None:
        """Paints the left half of the screen `left` and the right half `right`."""
        with tempfile.NamedTemporaryFile("w", suffix=".xbm", delete=False) as f:
            f.write(_halves_xbm(self.width))
        try:
            self.run("xsetroot", "-bitmap", f.name, "-fg", left, "-bg", right)
        finally:
            os.unlink(f.name)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _halves_xbm(width: int) -> str:
    """An XBM one screen wide and 2 rows high (tiled down the screen): bits set on the left half."""
    row_bytes = (width + 7) // 8
    row = []
    for i in range(row_bytes):
        b = 0
        for bit in range(8):
            if i * 8 + bit < width // 2:
                b |= 1 << bit  # XBM is LSB first
        row.append(b)
    values = [f"0x{b:02x}" for b in row * 2]
    # Xlib's XBM reader wants short lines.
    data = ",\n".join(", ".join(values[i : i + 12]) for i in range(0, len(values), 12))
    return f"#define h_width {width}\n#define h_height 2\nstatic unsigned char h_bits[] = {{\n{data}}};\n"


def start(width: int = 1280, height: int = 720) -> Xvfb:
    """Starts `Xvfb -screen 0 WxHx24 -nolisten tcp` on a display number it picks itself."""
    if shutil.which("Xvfb") is None:
        raise PortholeError(XVFB_UNAVAILABLE, "Xvfb is not installed (apt-get install xvfb)")
    r, w = os.pipe()
    try:
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp", "-noreset"],
            pass_fds=(w,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    finally:
        os.close(w)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        buf = b""
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([r], [], [], left)[0]:
                proc.kill()
                raise PortholeError(XVFB_UNAVAILABLE, "Xvfb did not report its display")
            chunk = os.read(r, 16)
            if not chunk:
                raise PortholeError(XVFB_UNAVAILABLE, f"Xvfb exited with {proc.wait()}")
            buf += chunk
    finally:
        os.close(r)
    display = ":" + buf.decode().strip()
    socket = Path("/tmp/.X11-unix") / f"X{display[1:]}"
    while not socket.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return Xvfb(proc=proc, display=display, width=width, height=height)
