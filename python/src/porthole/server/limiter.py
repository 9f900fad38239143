"""Budgets of failed attempts (logins, device connects), spent *before* the expensive check.

Each attempt at a password or a device secret takes one unit from every budget
it falls under (per user and address, per address, per user) before the slow
hash runs, in one atomic store call: a burst of concurrent guesses cannot all
pass a check made before any of them failed. A success gives its unit back to
every budget (and clears the user-and-address one); a failure keeps it. A
budget that is spent refuses further attempts until its window has passed.

The budgets are separate so that one address cannot lock a user out for
everyone (the per-user budget is larger than the per-user-and-address one),
and one address cannot spray many users (the per-address budget).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from porthole.server.store import Store


@dataclass(frozen=True)
class Attempt:
    keys: tuple[str, ...]
    at: float


def key(kind: str, *parts: str) -> str:
    return kind + ":" + json.dumps(parts)  # unambiguous whatever a user name holds


class AttemptLimiter:
    def __init__(self, store: Store, window_s: float, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self.window_s = window_s
        self._clock = clock

    async def reserve(self, budgets: dict[str, int]) -> Attempt | None:
        """One attempt from every budget ({key: max attempts per window}); None when any is spent."""
        now = self._clock()
        ok = await self._store.reserve_attempt(list(budgets.items()), now, now - self.window_s)
        return Attempt(tuple(budgets), now) if ok else None

    async def succeeded(self, attempt: Attempt, *, clear: tuple[str, ...] = ()) -> None:
        """Gives the attempt back to every budget, and forgets the earlier failures of `clear`."""
        await self._store.release_attempt(list(attempt.keys), attempt.at)
        for k in clear:
            await self._store.clear_attempts(k)
