"""A Chromium of its own inside the `brw` namespace of relay_topology
(tests/support/topology.py), for the relay tests: the browser side then has
only `brw`'s address and reaches nothing but `cloud`, as issue 12's topology
asks, instead of sharing the test namespace (the router of the topology).

Playwright launches it through `ip netns exec` and drives it over a pipe
(`--remote-debugging-pipe`), so nothing of the control path needs a network.
Debian's /usr/bin/chromium, never a downloaded one.

`run_in(ns, fn)` runs an async client (aiortc and its Socket.IO) in `ns` the
same way: on a thread of its own that entered the namespace (setns applies to
the calling thread only), with an event loop of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from pathlib import Path
from typing import TypeVar

from playwright.async_api import Page, async_playwright

from tests.support.browser import CHROMIUM, chromium_args
from tests.support.topology import Namespace

T = TypeVar("T")
LAUNCH_TIMEOUT_MS = 60_000
CLONE_NEWNET = 0x40000000
# Playwright launches with its own switches (headless, the pipe, a user-data-dir); ours add the
# feature lists, which replace Playwright's (Chromium keeps the last --disable-features) and
# include them.
FEATURE_ARGS = [a for a in chromium_args() if a.startswith(("--disable-features=", "--enable-features="))]


@contextlib.asynccontextmanager
async def pages_in(ns: Namespace, directory: Path) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """Yields a `new_page`-like factory whose pages live in a Chromium running inside `ns`."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=ns.wrap(CHROMIUM, directory),
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-proxy-server", *FEATURE_ARGS],
            timeout=LAUNCH_TIMEOUT_MS,
        )
        try:

            async def new_page(**context_options) -> Page:
                context = await browser.new_context(**context_options)
                return await context.new_page()

            yield new_page
        finally:
            await browser.close()


async def run_in(ns: Namespace, fn: Callable[[], Coroutine[object, object, T]]) -> T:
    """Awaits `fn()` on a new thread inside `ns`'s network namespace, with its own event loop."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()

    def main() -> None:
        try:
            fd = os.open(f"/var/run/netns/{ns.name}", os.O_RDONLY)
            try:
                if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {ns.name}")
            finally:
                os.close(fd)
            result: T = asyncio.run(fn())
        except BaseException as e:  # noqa: BLE001 - handed to the caller, whatever it is
            loop.call_soon_threadsafe(_settle, done, None, e)
        else:
            loop.call_soon_threadsafe(_settle, done, result, None)

    threading.Thread(target=main, name=f"in-{ns.role}", daemon=True).start()
    return await done


def _settle(done: asyncio.Future, result: object, error: BaseException | None) -> None:
    if done.done():
        return
    if error is not None:
        done.set_exception(error)
    else:
        done.set_result(result)
