"""A viewer of a shared terminal in a process of its own, so that a test can stop it
(SIGSTOP: it reads nothing, acknowledges nothing) and let it go on (SIGCONT).

python -m tests.e2e.share_viewer URL TOKEN DEVICE TARGET OWNER_SESSION SHARE_TOKEN OUT

Joins, prints "joined" on stdout, then keeps OUT holding everything the channel
delivered (rewritten every 50 ms) until stdin closes."""

from __future__ import annotations

import asyncio
import os
import sys

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


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:8]))
