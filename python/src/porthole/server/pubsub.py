"""Emits between server nodes: python-socketio's AsyncRedisManager, closing what it replaces.

Every emit (to a socket, to an org's room) is published on one Redis channel
and every node delivers it to the sockets it holds. When the connection to
Redis breaks (a Redis restart), python-socketio makes a new client and pub/sub
and subscribes again (after 1 s, then doubling up to 60 s); an emit published
meanwhile reaches only the sockets of the node that sent it. The library drops
the old client without closing it: here it is closed, so that each Redis
restart does not leave a node with connections it never closes.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio

# The Redis pub/sub channel every node of a deployment shares.
CHANNEL = "porthole-socketio"


class RedisManager(socketio.AsyncRedisManager):
    def __init__(self, url: str) -> None:
        super().__init__(url, channel=CHANNEL)
        self._closing: set[asyncio.Task] = set()

    def _redis_connect(self) -> None:
        old = [c for c in (self.pubsub, self.redis) if c is not None]
        super()._redis_connect()
        for c in old:
            t = asyncio.get_running_loop().create_task(_close(c))
            self._closing.add(t)
            t.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        """Ends the listener and closes the connections (the node stops)."""
        listener = getattr(self, "thread", None)
        if isinstance(listener, asyncio.Task):
            listener.cancel()
            await asyncio.gather(listener, return_exceptions=True)
        for c in (self.pubsub, self.redis):
            if c is not None:
                await _close(c)
        await asyncio.gather(*self._closing, return_exceptions=True)


async def _close(conn: Any) -> None:
    with contextlib.suppress(Exception):  # it is broken already: that is why it is replaced
        await conn.aclose()
