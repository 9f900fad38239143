"""The helpers and the failure reporting that other tests rely on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.conftest import SUPPORT_PLUGINS
from tests.support.artifacts import REPO
from tests.support.waiting import WaitTimeout, async_wait_for, wait_for

INNER_TIMEOUT = 120  # s for a whole inner pytest run (it starts its own Chromium)


def test_wait_for_returns_the_first_truthy_value():
    values: Iterator[object] = iter([0, None, [], "ready"])
    assert wait_for(lambda: next(values), timeout=5, interval=0.001) == "ready"


def test_wait_for_times_out_with_message_and_last_value():
    t0 = time.monotonic()
    with pytest.raises(WaitTimeout, match=r"timed out after 0.2s waiting for the moon; last value: \{\}"):
        wait_for(dict, 0.2, message="the moon")
    assert 0.2 <= time.monotonic() - t0 < 2


def test_wait_for_ignores_only_the_listed_errors():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("not up")
        return True

    assert wait_for(flaky, 5, interval=0.001, ignore=(ConnectionError,)) is True
    with pytest.raises(ZeroDivisionError):
        wait_for(lambda: 1 / 0, 5, ignore=(ConnectionError,))
    with pytest.raises(WaitTimeout, match="last error: ConnectionError: down"):
        wait_for(lambda: (_ for _ in ()).throw(ConnectionError("down")), 0.1, ignore=(ConnectionError,))


async def test_async_wait_for_takes_sync_and_async_predicates():
    flag = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, flag.set)
    assert await async_wait_for(flag.is_set, 5) is True

    async def later():
        await asyncio.sleep(0.01)
        return "done"

    assert await async_wait_for(later, 5) == "done"
    with pytest.raises(WaitTimeout, match="the impossible"):
        await async_wait_for(lambda: False, 0.1, message="the impossible")


def _inner_session(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """An inner pytest run with our support plugins, artifacts under pytester's dir."""
    pytester.makeconftest(f"import sys\nsys.path.insert(0, {str(REPO)!r})\npytest_plugins = {SUPPORT_PLUGINS!r}\n")
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings =\n    error\n    ignore::DeprecationWarning:aioice.*\n"
        "    ignore::DeprecationWarning:aiortc.*\n    ignore::DeprecationWarning:pyee.*\n"
    )
    monkeypatch.setenv("PORTHOLE_TEST_ARTIFACTS", str(pytester.path / "artifacts"))


def test_browser_failure_reports_console_and_saves_screenshot(pytester, monkeypatch):
    _inner_session(pytester, monkeypatch)
    pytester.makepyfile(
        test_inner="""
        async def test_page_fails(new_page):
            page = await new_page()
            await page.set_content("<h1>inner page</h1>")
            await page.evaluate("console.log('marker-from-the-page')")
            await page.evaluate("setTimeout(() => { throw new Error('marker-uncaught') }, 0)")
            await page.wait_for_timeout(100)
            assert False, "the test fails on purpose"

        async def test_page_passes(new_page):
            page = await new_page()
            await page.evaluate("console.log('marker-quiet')")
        """
    )
    result = pytester.runpytest_subprocess("-q", timeout=INNER_TIMEOUT)
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert "browser console, page 0" in out
    assert "[log] marker-from-the-page" in out
    assert "[pageerror]" in out and "marker-uncaught" in out
    assert "marker-quiet" not in out  # passing tests print nothing
    folders = list((pytester.path / "artifacts").glob("*test_page_fails*"))
    assert len(folders) == 1, list((pytester.path / "artifacts").iterdir())
    shot = folders[0] / "page0.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "marker-from-the-page" in (folders[0] / "browser_console_page_0.txt").read_text()
    assert not list((pytester.path / "artifacts").glob("*test_page_passes*"))


def test_docker_unreachable_is_an_error_not_a_skip(pytester, monkeypatch):
    _inner_session(pytester, monkeypatch)
    monkeypatch.setenv("DOCKER_HOST", f"unix://{pytester.path}/no-docker.sock")
    pytester.makepyfile(
        test_inner="""
        def test_needs_docker(docker_client):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-q", timeout=INNER_TIMEOUT)
    result.assert_outcomes(errors=1)
    assert "Docker Engine not" in result.stdout.str()
    assert "make setup" in result.stdout.str()


def test_outside_the_namespace_is_an_error(pytester, monkeypatch):
    _inner_session(pytester, monkeypatch)
    monkeypatch.delenv("PORTHOLE_TEST_IFACE")
    monkeypatch.delenv("PORTHOLE_TEST_IP")
    pytester.makepyfile(
        test_inner="""
        def test_needs_ip(test_ip):
            pass
        """
    )
    result = pytester.runpytest_subprocess("-q", timeout=INNER_TIMEOUT)
    result.assert_outcomes(errors=1)
    assert "scripts/in-netns.sh" in result.stdout.str()
