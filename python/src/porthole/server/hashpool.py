"""Where the slow hashes (scrypt) run: a few threads and a bounded queue.

Every login and every device connect with a scrypt hash costs tens of
milliseconds of CPU and 16+ MiB of memory. Unauthenticated callers must not be
able to queue an unbounded number of them: at most `workers` run at once and
at most `max_waiting` wait; beyond that the caller is told the server is busy
(`rate_limited`) at once, without hashing anything.
"""

from __future__ import annotations

import asyncio
import concurrent.futures

from porthole import errors
from porthole.errors import PortholeError
from porthole.server import passwords

# Two hashes at a time keep a 2-core server answering everything else.
DEFAULT_WORKERS = 2
# About a second of queued work at the default cost.
DEFAULT_MAX_WAITING = 16


class HashPool:
    def __init__(self, workers: int = DEFAULT_WORKERS, max_waiting: int = DEFAULT_MAX_WAITING) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hash")
        self._limit = workers + max_waiting
        self._in_flight = 0

    async def verify(self, secret: str, encoded: str) -> bool:
        """passwords.verify_password off the event loop; rate_limited when the queue is full."""
        if self._in_flight >= self._limit:
            raise PortholeError(errors.RATE_LIMITED, "the server is busy checking credentials; try again shortly")
        self._in_flight += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, passwords.verify_password, secret, encoded)
        finally:
            self._in_flight -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
