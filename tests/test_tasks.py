"""porthole.tasks.end_tasks: background loops end at shutdown even when a cancel is lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from porthole.tasks import end_tasks
from tests.support.lostcancel import loses_first_cancel


async def test_one_cancel_is_not_enough_for_a_loop_that_loses_it() -> None:
    cancels: list[int] = []
    task = asyncio.create_task(loses_first_cancel(cancels))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.2)
    assert cancels == [1] and not task.done()  # what a stop that cancels once and gathers waited on
    task.cancel()
    await asyncio.wait([task], timeout=1)
    assert task.cancelled()


async def test_end_tasks_cancels_again_until_the_loop_ends() -> None:
    cancels: list[int] = []
    task = asyncio.create_task(loses_first_cancel(cancels))
    await asyncio.sleep(0.01)
    left = await end_tasks([task], 5.0, "loops")
    assert left == [] and task.cancelled() and cancels == [1, 1]


async def test_a_task_that_never_ends_is_given_up_after_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):  # every cancel lost
                await asyncio.sleep(10)

    async def fails() -> None:
        raise RuntimeError("boom")

    stuck = asyncio.create_task(stubborn())
    failed, done = asyncio.create_task(fails()), asyncio.create_task(asyncio.sleep(0))
    try:
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        started = loop.time()
        with caplog.at_level(logging.WARNING, logger="porthole.tasks"):
            left = await end_tasks([stuck, failed, done], 0.5, "loops")
        assert left == [stuck]
        # Given up at the deadline, not before it, and not waiting on the task (a loose bound:
        # this checks behaviour, not timing, on a busy machine).
        assert 0.5 <= loop.time() - started < 10.0
        assert "shutdown: 1 loops did not end within 0.5 s; given up" in caplog.text
        assert failed.done() and done.done()  # a task that had failed or ended is no obstacle
    finally:
        release.set()
        stuck.cancel()
        await asyncio.wait([stuck], timeout=1)
