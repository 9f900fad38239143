"""glibc malloc arenas for the agent: at most ARENA_MAX.

glibc gives threads that allocate at the same time arenas of their own, up to
8 per core, and keeps what they once held. The agent's threads (the Docker
client's executor, gRPC's) come and go, so its RSS crept up over a long run
(the 30-minute soak: +13.7 % with the interpreter's own heap flat, the growth in
per-thread arenas; docs/reliability.md). Two arenas are plenty for an agent
that mostly waits. An operator's MALLOC_ARENA_MAX wins; not glibc: nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger("porthole.agent")

ARENA_MAX = 2
_M_ARENA_MAX = -8  # mallopt parameter (malloc.h)


def limit() -> bool:
    """Caps the arenas before the agent starts its threads; whether it did."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, ARENA_MAX))
    except (OSError, AttributeError):  # not glibc
        log.debug("mallopt unavailable; malloc arenas not capped")
        return False
