"""Session timeouts: idle, maximum length, and (when the policy says so) grant expiry.

One loop over the session registry's snapshots (views.SessionRegistry). A session that is due is asked to end
with its reason (`idle_timeout`, `max_duration`, `grant_expired`): the client
gets a terminal `error` message with that code, then `webrtc:disconnect` with
it as the reason, and the audit record of the end carries it too.

Activity is input from the client or output from the process: a session that
is typing or printing is never idle. The agent carries no terminal bytes, so
porthole-core counts them and the agent's idle clocks are what it last
reported. A clock read earlier can only look idler than the truth, so a
tick asks porthole-core again (GetStats, one call for every session) only
when some session looks idle, and decides on the fresh figures.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from porthole.agent import policy as policy_mod
from porthole.agent.views import SessionRegistry
from porthole.grant import Grant

log = logging.getLogger("porthole.agent.watchdog")

# How often sessions are checked: a timeout fires at most this late (or a
# quarter of the shortest timeout, for the short ones tests use).
MAX_TICK_S = 1.0
MIN_TICK_S = 0.05


def tick_s(p: policy_mod.Policy) -> float:
    limits = [t for t in (p.idle_timeout_s, p.max_session_s) if t > 0]
    return max(MIN_TICK_S, min([MAX_TICK_S, *(t / 4 for t in limits)]))


class Clocked(Protocol):
    """What due() reads of a session (a views.SessionSnapshot)."""

    @property
    def started_monotonic(self) -> float: ...
    @property
    def last_activity(self) -> float: ...
    @property
    def grant(self) -> Grant: ...


def due(session: Clocked, p: policy_mod.Policy, now_mono: float, now_wall: float) -> tuple[str, str] | None:
    """(reason, message) if the session must end now, else None."""
    if p.max_session_s and now_mono - session.started_monotonic >= p.max_session_s:
        return policy_mod.MAX_DURATION, f"the session reached its maximum length of {p.max_session_s:g} s"
    if p.idle_timeout_s and now_mono - session.last_activity >= p.idle_timeout_s:
        return policy_mod.IDLE_TIMEOUT, f"no input or output for {p.idle_timeout_s:g} s"
    if p.end_on_grant_expiry and now_wall >= session.grant.expires_at:
        return policy_mod.GRANT_EXPIRED, "the session's grant expired"
    return None


def due_sessions(sessions: SessionRegistry, p: policy_mod.Policy) -> list[tuple[str, tuple[str, str]]]:
    """(session id, (reason, message)) of every session that must end now."""
    now_mono, now_wall = time.monotonic(), time.time()
    out = []
    for s in sessions.snapshots():
        if not s.ending and (why := due(s, p, now_mono, now_wall)) is not None:
            out.append((s.id, why))
    return out


async def run(sessions: SessionRegistry, p: policy_mod.Policy) -> None:
    interval = tick_s(p)
    while True:
        await asyncio.sleep(interval)
        ending = due_sessions(sessions, p)
        if any(why[0] == policy_mod.IDLE_TIMEOUT for _, why in ending):
            await sessions.refresh_activity()  # idle as last reported: ask again before ending it
            ending = due_sessions(sessions, p)
        for sid, why in ending:
            log.info("ending session: %s", why[0], extra={"session_id": sid})
            sessions.end(sid, *why)
