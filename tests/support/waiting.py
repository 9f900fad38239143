"""Polling with a deadline. Every wait in a test goes through one of these.

``wait_for`` blocks (use it in sync tests and fixtures); ``async_wait_for``
yields to the event loop between tries (use it in async tests: a blocking
sleep there would freeze the very peers being waited on).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

DEFAULT_INTERVAL = 0.05  # s; short enough for fast tests, long enough not to spin a core


class WaitTimeout(AssertionError):
    """The predicate did not become truthy before the deadline."""


def _describe(message: str | None, timeout: float, last: object, error: BaseException | None) -> str:
    what = message or "condition"
    text = f"timed out after {timeout:g}s waiting for {what}; last value: {last!r}"
    if error is not None:
        text += f"; last error: {type(error).__name__}: {error}"
    return text


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float,
    interval: float = DEFAULT_INTERVAL,
    message: str | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``predicate`` until it returns something truthy; return that value.

    Raises ``WaitTimeout`` (an AssertionError) after ``timeout`` seconds, naming
    ``message`` and the last value seen. Exceptions of the types in ``ignore``
    count as "not yet" (the last one is reported); any other propagates.
    The predicate is always tried at least once, and once more at the deadline.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    error: BaseException | None = None
    while True:
        try:
            value = last = predicate()
            error = None
            if value:
                return value
        except ignore as exc:
            error = exc
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(_describe(message, timeout, last, error))
        time.sleep(min(interval, remaining))


@overload
async def async_wait_for(
    predicate: Callable[[], Awaitable[T | None]],
    timeout: float,
    interval: float = ...,
    message: str | None = ...,
    ignore: tuple[type[BaseException], ...] = ...,
) -> T: ...


@overload
async def async_wait_for(
    predicate: Callable[[], T | None],
    timeout: float,
    interval: float = ...,
    message: str | None = ...,
    ignore: tuple[type[BaseException], ...] = ...,
) -> T: ...


async def async_wait_for(
    predicate: Callable[[], Any],
    timeout: float,
    interval: float = DEFAULT_INTERVAL,
    message: str | None = None,
    ignore: tuple[type[BaseException], ...] = (),
) -> Any:
    """``wait_for`` for async tests: ``predicate`` may be sync or return an awaitable."""
    deadline = time.monotonic() + timeout
    last: object = None
    error: BaseException | None = None
    while True:
        try:
            last = predicate()
            if inspect.isawaitable(last):
                last = await asyncio.wait_for(last, max(deadline - time.monotonic(), interval))
            error = None
            if last:
                return last
        except TimeoutError as exc:
            error = exc
        except ignore as exc:
            error = exc
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(_describe(message, timeout, last, error))
        await asyncio.sleep(min(interval, remaining))
