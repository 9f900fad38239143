"""A viewer of a shared terminal in a process of its own, so that a test can stop it
(SIGSTOP: it reads nothing, acknowledges nothing) and let it go on (SIGCONT).

python -m tests.e2e.share_viewer URL TOKEN DEVICE TARGET OWNER_SESSION SHARE_TOKEN OUT

Joins, prints "joined" on stdout, then keeps OUT holding everything the channel
delivered (rewritten every 50 ms) until stdin closes. `ViewerProcess` starts and
ends it from a test and waits for what it got."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.support.product_client import open_terminal


async def main(url: str, token: str, device: str, target: str, owner: str, share_token: str, out: str) -> None:
    sess = await open_terminal(url, token, device, target, extra={"join": {"session_id": owner, "token": share_token}})
    print("joined", flush=True)
    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    try:
        while not stdin_closed.done():
            tmp = out + ".tmp"
            with open(tmp, "wb") as f:
                f.write(bytes(sess.client.output))
            os.replace(tmp, out)
            await asyncio.sleep(0.05)
    finally:
        await sess.close()


class ViewerProcess:
    """This module run as a viewer; `wrap` turns its argv into the command that runs it
    (e.g. inside a rate-limited namespace)."""

    def __init__(self, argv: Sequence[str], out: Path, wrap: Callable[..., list[str]] = lambda *a: list(a)) -> None:
        self.cmd = wrap(sys.executable, "-m", "tests.e2e.share_viewer", *argv)
        self.out = out
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 60) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.cmd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        assert line.strip() == b"joined", line

    async def has(self, needle: bytes, after: bytes = b"", timeout: float = 60) -> bytes:
        """Waits until the viewer got `needle` (after the last `after`, if given); all it got."""
        async with asyncio.timeout(timeout):
            while True:
                data = self.out.read_bytes() if self.out.exists() else b""
                start = data.rfind(after) if after else 0
                if start >= 0 and needle in data[start:]:
                    return data
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        """Lets it go on if stopped, closes its stdin and waits for it (killed after 20 s)."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGCONT)
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 20)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:8]))
