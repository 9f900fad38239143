"""An Xvfb that processes in other network namespaces can use (the agent and
porthole-core in a test namespace such as `dev`, tests/support/topology.py).

An X server listens on an abstract socket, which belongs to its network
namespace, and on the file /tmp/.X11-unix/XN, which every namespace sees. A
client in another namespace finds no abstract socket and uses the file. But
xdisplay.start lets Xvfb pick its display (-displayfd): in a private namespace
(every concurrent test run has one) that is :0 each time, and an Xvfb that
binds :0 replaces the file of another namespace's :0 and removes it when it
exits, with no lock file to stop it. So this one takes a random, high display
number of its own, which no -displayfd Xvfb reaches."""

from __future__ import annotations

import os
import secrets
import select
import subprocess
import tempfile
import time

from porthole import xdisplay

# Far above what -displayfd picks (the first free number: 0, or 1 with two Xvfbs in one namespace).
FIRST_DISPLAY, LAST_DISPLAY = 200, 999
# A number taken by a concurrent run is skipped; a few tries make a clash of all of them implausible.
ATTEMPTS = 5
SOCKET_DIR = "/tmp/.X11-unix"


def start_shared(width: int, height: int) -> xdisplay.Xvfb:
    """Xvfb -screen 0 WxHx24 -nolisten tcp on a display number unused on this host."""
    failures = []
    for _ in range(ATTEMPTS):
        n = FIRST_DISPLAY + secrets.randbelow(LAST_DISPLAY - FIRST_DISPLAY + 1)
        if os.path.exists(f"{SOCKET_DIR}/X{n}"):
            failures.append(f":{n} has a socket already")
            continue
        x = _start_at(n, width, height)
        if isinstance(x, xdisplay.Xvfb):
            return x
        failures.append(x)
    raise AssertionError(f"no Xvfb started: {failures}")


def _start_at(n: int, width: int, height: int) -> xdisplay.Xvfb | str:
    """The Xvfb on :n once it listens, or why it did not start."""
    argv = ["Xvfb", f":{n}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp", "-noreset"]
    # Its stderr goes to a file, not a pipe: nobody reads it while Xvfb runs.
    with tempfile.TemporaryFile() as err:
        r, w = os.pipe()
        try:
            proc = subprocess.Popen([*argv, "-displayfd", str(w)], pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=err)
        finally:
            os.close(w)
        try:
            # Xvfb writes its display number once it listens (the same wait as xdisplay.start).
            deadline = time.monotonic() + xdisplay.START_TIMEOUT_S
            buf = b""
            while not buf.endswith(b"\n"):
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([r], [], [], left)[0]:
                    proc.kill()
                    proc.wait()
                    return f":{n} did not report ready"
                chunk = os.read(r, 16)
                if not chunk:
                    code = proc.wait()
                    err.seek(0)
                    return f":{n} exited with {code}: {err.read().decode(errors='replace')[-300:]}"
                buf += chunk
        finally:
            os.close(r)
    return xdisplay.Xvfb(proc=proc, display=f":{n}", width=width, height=height)
