"""Ending background tasks at shutdown, with a deadline.

One `cancel()` is not always enough: a library can swallow the CancelledError
(redis-py's asyncio client has done so, redis/redis-py#2028), and a loop of the
form `while True: await sleep(tick); await step()` then goes on to its next tick
and never ends. A stop that gathers it never returns: a server with Redis did
not stop on SIGTERM (2026-12-03), its expiry loop found "cancelling" yet asleep
at its next tick. So the tasks are cancelled again until they end, and after a
deadline the rest is given up and logged.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

# How often a task that is still running is cancelled again.
RECANCEL_S = 0.2


async def end_tasks(tasks: list[asyncio.Task], within_s: float, what: str) -> list[asyncio.Task]:
    """Cancels `tasks` (again every RECANCEL_S while any runs) until they end or `within_s`
    passed. Returns the tasks still running then (logged as a warning); their exceptions
    are retrieved, so none is reported as never retrieved."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    pending = {t for t in tasks if not t.done()}
    while pending:
        left = deadline - loop.time()
        if left <= 0:
            log.warning("shutdown: %d %s did not end within %g s; given up", len(pending), what, within_s)
            break
        for t in pending:
            t.cancel()
        _, pending = await asyncio.wait(pending, timeout=min(RECANCEL_S, left))
    for t in tasks:
        if t.done() and not t.cancelled():
            t.exception()
    return [t for t in tasks if not t.done()]
