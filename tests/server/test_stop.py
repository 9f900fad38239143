"""Server.stop ends even when a background loop loses its cancel (porthole.tasks)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.server.conftest import Env
from tests.support.lostcancel import loses_first_cancel


async def test_stop_ends_a_background_loop_that_lost_its_cancel(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    cancels: list[int] = []

    loop_task = asyncio.create_task(loses_first_cancel(cancels))  # like the expiry loop whose store call lost it
    env.server._background.append(loop_task)
    await asyncio.sleep(0.01)
    with caplog.at_level(logging.INFO, logger="porthole.server"):
        await asyncio.wait_for(env.server.stop(), 15)
    assert loop_task.cancelled() and cancels == [1, 1]
    assert "stopped" in caplog.text
