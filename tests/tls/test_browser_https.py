"""Chromium on the page served over HTTPS by the server itself: the page, Socket.IO over
WSS (same-origin check with the https scheme), and a terminal in a real container."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser_terminal import open_terminal_in_page, type_line, wait_text
from tests.support.fullstack import Stack


async def test_terminal_over_https_in_chromium(https_stack: Stack, make_container, new_page) -> None:
    # Not trusted by default: the page is really served with the test CA's certificate.
    plain = await new_page()
    with pytest.raises(Exception, match="ERR_CERT_AUTHORITY_INVALID"):
        await plain.goto(https_stack.url + "/")

    c = make_container()
    page = await open_terminal_in_page(_Trusting(new_page), https_stack, c.name)
    assert await page.evaluate("location.protocol") == "https:"
    await type_line(page, "echo over-tls-$((6*7))")
    await wait_text(page, "over-tls-42")


class _Trusting:
    """new_page with the test CA's certificate accepted (Chromium's ignore-certificate-errors, per context)."""

    def __init__(self, new_page) -> None:
        self.new_page = new_page

    async def __call__(self, **options):
        return await self.new_page(ignore_https_errors=True, **options)
