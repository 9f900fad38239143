"""A Chromium of its own inside the `brw` namespace of relay_topology
(tests/support/topology.py), for the relay tests: the browser side then has
only `brw`'s address and reaches nothing but `cloud`, as issue 12's topology
asks, instead of sharing the test namespace (the router of the topology).

Playwright launches it through `ip netns exec` and drives it over a pipe
(`--remote-debugging-pipe`), so nothing of the control path needs a network.
Debian's /usr/bin/chromium, never a downloaded one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from playwright.async_api import Page, async_playwright

from tests.support.browser import CHROMIUM, chromium_args
from tests.support.topology import Namespace

LAUNCH_TIMEOUT_MS = 60_000
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
