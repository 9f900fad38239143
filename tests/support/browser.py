"""Real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright.

Fixtures
- ``chromium`` (session) -> ``ChromiumProcess``: one Chromium for the whole run,
  started by us with ``CHROMIUM_ARGS`` and a fresh user-data-dir, listening for
  DevTools on 127.0.0.1 (``.ws_endpoint``). It is a plain process, so it works
  with every test's own event loop.
- ``browser`` (function, async) -> ``playwright.async_api.Browser`` connected to
  that Chromium over CDP, in the test's event loop; closed after the test.
- ``new_page`` (function, async) -> ``async (**context_options) -> Page``: each
  call makes a fresh BrowserContext (no shared storage) and a page in it. The
  page's console messages and uncaught errors are recorded (``console_log(page)``)
  and printed in the report when the test fails; on failure each page's
  screenshot is saved in ``tests/.artifacts/<test id>/page<N>.png``.

Need other flags (fake media devices, say)? ``ChromiumProcess(extra_args=[...])``
as a context manager, then ``playwright.chromium.connect_over_cdp(proc.ws_endpoint)``;
``chromium_args()`` merges every ``--disable-features`` into one (Chromium keeps
only the last one it is given).

Never ``playwright install``: Playwright's own browsers cannot be downloaded here.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from .artifacts import add_failure_section, artifacts_dir, artifacts_root, test_failed
from .waiting import wait_for

CHROMIUM = os.environ.get("PORTHOLE_CHROMIUM", "/usr/bin/chromium")

START_TIMEOUT = 30.0  # s; a cold start on a busy 2-core machine takes a few seconds
STOP_TIMEOUT = 10.0  # s; then SIGKILL
CONNECT_TIMEOUT_MS = 30_000
SCREENSHOT_TIMEOUT_MS = 10_000

# Features Chromium must not use in tests. WebRtcHideLocalIpsWithMdns: without it
# host candidates are hidden behind mDNS names (*.local) that aiortc and pion in
# a private namespace cannot resolve. The rest is Playwright 1.65's own list
# (chromiumSwitches.ts), which we must keep because one --disable-features
# replaces any other.
DISABLED_FEATURES = (
    "WebRtcHideLocalIpsWithMdns",
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "Translate",
)
ENABLED_FEATURES = ("CDPScreenshotNewSurface", "SkipListAccountsWithoutGaiaCookies")

# TESTING.md's flags plus the switches Playwright itself launches Chromium with
# (connect_over_cdp expects them).
BASE_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-proxy-server",  # a proxy from the environment must never see test traffic
    "--disable-field-trial-config",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-back-forward-cache",
    "--disable-breakpad",
    "--disable-component-extensions-with-background-pages",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--allow-pre-commit-input",
    "--disable-hang-monitor",
    "--disable-ipc-flooding-protection",
    "--disable-popup-blocking",
    "--disable-prompt-on-repost",
    "--disable-renderer-backgrounding",
    "--force-color-profile=srgb",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--no-service-autorun",
    "--disable-search-engine-choice-screen",
    "--enable-unsafe-swiftshader",
    "--hide-scrollbars",
    "--mute-audio",
)


def chromium_args(*extra: str, disable_features: Iterable[str] = ()) -> list[str]:
    """``BASE_ARGS`` + ``extra``, with all ``--disable-features`` /
    ``--enable-features`` (from ``DISABLED_FEATURES``, ``disable_features`` and
    ``extra``) merged into one switch each."""
    disabled = list(DISABLED_FEATURES) + list(disable_features)
    enabled = list(ENABLED_FEATURES)
    rest = []
    for arg in extra:
        if arg.startswith("--disable-features="):
            disabled += [f for f in arg.split("=", 1)[1].split(",") if f]
        elif arg.startswith("--enable-features="):
            enabled += [f for f in arg.split("=", 1)[1].split(",") if f]
        else:
            rest.append(arg)
    dedup = lambda xs: list(dict.fromkeys(xs))  # noqa: E731 - keep order, drop repeats
    return [
        *BASE_ARGS,
        *rest,
        "--disable-features=" + ",".join(dedup(disabled)),
        "--enable-features=" + ",".join(dedup(enabled)),
    ]


CHROMIUM_ARGS = chromium_args()


class ChromiumProcess:
    """A headless Chromium we start ourselves, reachable over CDP on 127.0.0.1.

    ``start()`` / ``stop()`` or use it as a context manager. ``ws_endpoint`` is
    for ``connect_over_cdp``; ``log_path`` holds Chromium's stderr.
    """

    def __init__(self, extra_args: Iterable[str] = (), executable: str = CHROMIUM, name: str = "chromium"):
        self.executable = executable
        self.args = chromium_args(*extra_args)
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.user_data_dir: str | None = None
        self.ws_endpoint: str | None = None
        self.log_path: Path | None = None

    def start(self) -> ChromiumProcess:
        if not os.access(self.executable, os.X_OK):
            raise RuntimeError(f"{self.executable} not found: run `make setup` (Debian package chromium)")
        self.user_data_dir = tempfile.mkdtemp(prefix="porthole-chromium-")
        root = artifacts_root()
        root.mkdir(parents=True, exist_ok=True)
        self.log_path = root / f"{self.name}-{os.getpid()}.log"
        cmd = [
            self.executable,
            *self.args,
            f"--user-data-dir={self.user_data_dir}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "about:blank",
        ]
        with open(self.log_path, "ab") as log:  # a restart after a crash keeps the crash
            log.write(("$ " + " ".join(cmd) + "\n").encode())
            log.flush()
            self.proc = proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        port_file = Path(self.user_data_dir) / "DevToolsActivePort"

        def ready():
            if proc.poll() is not None:
                raise RuntimeError(f"Chromium exited with {proc.returncode} while starting; see {self.log_path}")
            lines = port_file.read_text().split() if port_file.exists() else []
            return lines if len(lines) == 2 else None

        try:
            port, path = wait_for(ready, START_TIMEOUT, message=f"Chromium's DevToolsActivePort (log: {self.log_path})")
        except BaseException:
            self.stop()
            raise
        self.ws_endpoint = f"ws://127.0.0.1:{port}{path}"
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self._signal_group(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(STOP_TIMEOUT)
            # Chromium's helpers (zygote, renderers) share its process group.
            self._signal_group(signal.SIGKILL)
            self.proc.wait(STOP_TIMEOUT)
        if self.user_data_dir:
            shutil.rmtree(self.user_data_dir, ignore_errors=True)
            self.user_data_dir = None

    def __enter__(self) -> ChromiumProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture(scope="session")
def chromium():
    proc = ChromiumProcess().start()
    yield proc
    proc.stop()


@pytest_asyncio.fixture
async def browser(chromium: ChromiumProcess):
    if not chromium.alive():
        # A crash belongs to the test that caused it; later tests get a new one.
        chromium.stop()
        chromium.start()
    async with async_playwright() as pw:
        assert chromium.ws_endpoint is not None  # alive, so started
        b = await pw.chromium.connect_over_cdp(chromium.ws_endpoint, timeout=CONNECT_TIMEOUT_MS, is_local=True)
        try:
            yield b
        finally:
            await b.close()


_console_logs: dict[int, list[str]] = {}


def console_log(page: Page) -> list[str]:
    """Console messages and page errors seen so far on a page made by ``new_page``."""
    return _console_logs[id(page)]


@pytest_asyncio.fixture
async def new_page(browser: Browser, request: pytest.FixtureRequest):
    item = request.node
    pages: list[Page] = []
    t0 = time.monotonic()

    async def factory(**context_options) -> Page:
        context = await browser.new_context(**context_options)
        page = await context.new_page()
        n = len(pages)
        logs: list[str] = []
        _console_logs[id(page)] = logs
        stamp = lambda: f"{time.monotonic() - t0:7.3f}s"  # noqa: E731
        page.on("console", lambda m: logs.append(f"{stamp()} [{m.type}] {m.text}"))
        page.on("pageerror", lambda e: logs.append(f"{stamp()} [pageerror] {e}"))
        page.on("crash", lambda _: logs.append(f"{stamp()} [crash] the page crashed"))
        shot = artifacts_dir(item, create=False) / f"page{n}.png"
        add_failure_section(
            item,
            f"browser console, page {n}",
            lambda: "\n".join([*logs, f"(screenshot at teardown: {shot})"]),
        )
        pages.append(page)
        return page

    yield factory

    failed = test_failed(item)
    for n, page in enumerate(pages):
        if failed and not page.is_closed():
            try:
                await page.screenshot(path=artifacts_dir(item) / f"page{n}.png", timeout=SCREENSHOT_TIMEOUT_MS)
            except Exception as exc:  # noqa: BLE001 - a dead page must not hide the real failure
                (artifacts_dir(item) / f"page{n}.screenshot-error.txt").write_text(repr(exc))
        _console_logs.pop(id(page), None)
        try:
            await page.context.close()
        except Exception:
            if not failed and browser.is_connected():
                raise
