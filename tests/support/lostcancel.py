"""A background loop that loses the first cancel it gets, as a library can (porthole.tasks)."""

from __future__ import annotations

import asyncio


async def loses_first_cancel(cancels: list[int]) -> None:
    """A `sleep; step` loop: the first cancel is swallowed and the loop goes on to its next
    tick; the second ends it. Each cancel it got is appended to `cancels`."""
    while True:
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            cancels.append(1)
            if len(cancels) > 1:
                raise
