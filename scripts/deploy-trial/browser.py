"""Step 8 of docs/deploy.md in headless Chromium: open https://porthole.example.com, log in as
operator, pick edge-1 and the container, open a terminal, type. porthole.example.com is mapped
to the VM (10.213.60.2) by a host-resolver rule; the CA of option B is accepted for this
browser context (what importing ca.pem into a browser does)."""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.async_api import async_playwright  # noqa: E402

from tests.support.browser import ChromiumProcess  # noqa: E402

URL = "https://porthole.example.com"


async def main(container: str, password: str) -> None:
    with ChromiumProcess(extra_args=["--host-resolver-rules=MAP porthole.example.com 10.213.60.2"]) as chromium:
        async with async_playwright() as pw:
            browser = await pw.chromium.connect_over_cdp(chromium.ws_endpoint)
            ctx = await browser.new_context(ignore_https_errors=True)
            page = await ctx.new_page()
            page.on("console", lambda m: print("console:", m.text))
            await page.goto(URL + "/")
            await page.fill("[data-testid=login-username]", "operator")
            await page.fill("[data-testid=login-password]", password)
            await page.click("[data-testid=login-submit]")
            await page.wait_for_selector("[data-testid=console]", state="visible")
            await page.evaluate("porthole.waitState('socket', 'connected')")
            for _ in range(50):
                await page.evaluate("porthole.refreshDevices()")
                await page.select_option("[data-testid=device-select]", "edge-1")
                opts = await page.eval_on_selector_all("[data-testid=target-select] option", "es => es.map(e => e.value)")
                if container in opts:
                    break
                await asyncio.sleep(0.3)
            await page.select_option("[data-testid=target-select]", container)
            await page.click("[data-testid=open-terminal]")
            await page.evaluate("porthole.waitState('channel', 'open', 20000)")
            await page.click("[data-testid=terminal]")
            await page.keyboard.type("echo deployed-$((6*7))")
            await page.keyboard.press("Enter")
            await page.evaluate("porthole.waitText('deployed-42', 15000)")
            print("terminal:", (await page.evaluate("porthole.terminalText()")).strip()[-200:])
            print("candidate pair:", await page.inner_text("[data-testid=candidate-pair]"))
            await browser.close()


asyncio.run(main(sys.argv[1], sys.argv[2]))
