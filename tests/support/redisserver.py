"""A real redis-server for the tests of several server nodes
(porthole.bench.redisserver): fixture ``redis_server``, started on loopback of
the test's namespace with its data in the test's temp dir, stopped after the
test; ``start_redis(dir)`` for a test that wants its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from porthole.bench.redisserver import RedisServer, start_redis

__all__ = ["RedisServer", "redis_server", "start_redis"]


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    r = start_redis(tmp_path / "redis")
    try:
        yield r
    finally:
        r.stop()
