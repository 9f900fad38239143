"""Server.stop ends even when a background loop loses its cancel (porthole.tasks)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.server.conftest import Env


async def test_stop_ends_a_background_loop_that_lost_its_cancel(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    cancels: list[int] = []

    async def loses_first_cancel() -> None:  # like the expiry loop whose store call swallowed it
        while True:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                cancels.append(1)
                if len(cancels) > 1:
                    raise

    loop_task = asyncio.create_task(loses_first_cancel())
    env.server._background.append(loop_task)
    await asyncio.sleep(0.01)
    with caplog.at_level(logging.INFO, logger="porthole.server"):
        await asyncio.wait_for(env.server.stop(), 15)
    assert loop_task.cancelled() and cancels == [1, 1]
    assert "stopped" in caplog.text
