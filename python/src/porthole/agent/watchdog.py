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

Before a policy end the client is warned (`session:warning` through the
server, docs/protocol.md §2 and §3): a minute ahead, or half the limit when it
is shorter than two minutes. An idle timeout can be put off: any input does it,
and so does `session:extend` (the user's "stay connected", which counts as
activity). The maximum length and the grant's expiry cannot: the agent's policy
has no setting that would allow it, so their warnings say `extendable: false`
and `session:extend` is refused with `not_extendable`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from porthole import errors, wire
from porthole.agent import policy as policy_mod
from porthole.agent.views import SessionRegistry
from porthole.grant import Grant

log = logging.getLogger("porthole.agent.watchdog")

# How often sessions are checked: a timeout fires at most this late (or a
# quarter of the shortest timeout, for the short ones tests use).
MAX_TICK_S = 1.0
MIN_TICK_S = 0.05
# How long before a policy end the client is warned; half the limit for limits under twice this.
WARN_AHEAD_S = 60.0
# The ends `session:extend` may put off.
EXTENDABLE = frozenset({policy_mod.IDLE_TIMEOUT})

Send = Callable[[str, dict[str, Any]], Awaitable[None]]


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


def due(
    session: Clocked, p: policy_mod.Policy, now_mono: float, now_wall: float, idle_from: float | None = None
) -> tuple[str, str] | None:
    """(reason, message) if the session must end now, else None. idle_from: the idle clock's
    start when later than the session's last activity (an extension)."""
    idle_base = max(session.last_activity, idle_from or 0.0)
    if p.max_session_s and now_mono - session.started_monotonic >= p.max_session_s:
        return policy_mod.MAX_DURATION, f"the session reached its maximum length of {p.max_session_s:g} s"
    if p.idle_timeout_s and now_mono - idle_base >= p.idle_timeout_s:
        return policy_mod.IDLE_TIMEOUT, f"no input or output for {p.idle_timeout_s:g} s"
    if p.end_on_grant_expiry and now_wall >= session.grant.expires_at:
        return policy_mod.GRANT_EXPIRED, "the session's grant expired"
    return None


def warn_ahead_s(limit_s: float) -> float:
    return min(WARN_AHEAD_S, limit_s / 2)


@dataclass(frozen=True)
class Upcoming:
    """A policy end close enough to warn of."""

    reason: str
    ends_in_s: float
    extendable: bool

    @property
    def message(self) -> str:
        what = {
            policy_mod.IDLE_TIMEOUT: "for being idle",
            policy_mod.MAX_DURATION: "at its maximum length",
            policy_mod.GRANT_EXPIRED: "when its grant expires",
        }[self.reason]
        then = "any input keeps it open" if self.extendable else "this cannot be extended"
        return f"the session ends in {self.ends_in_s:.0f} s {what}; {then}"


def upcoming(
    session: Clocked, p: policy_mod.Policy, now_mono: float, now_wall: float, idle_from: float | None = None
) -> Upcoming | None:
    """The earliest policy end inside its warning window, else None."""
    found: list[tuple[float, str]] = []
    if p.max_session_s:
        left = p.max_session_s - (now_mono - session.started_monotonic)
        if left <= warn_ahead_s(p.max_session_s):
            found.append((left, policy_mod.MAX_DURATION))
    if p.idle_timeout_s:
        left = p.idle_timeout_s - (now_mono - max(session.last_activity, idle_from or 0.0))
        if left <= warn_ahead_s(p.idle_timeout_s):
            found.append((left, policy_mod.IDLE_TIMEOUT))
    if p.end_on_grant_expiry:
        g = session.grant
        left = g.expires_at - now_wall
        if left <= warn_ahead_s(max(0, g.expires_at - g.issued_at)):
            found.append((left, policy_mod.GRANT_EXPIRED))
    if not found:
        return None
    left, reason = min(found)
    return Upcoming(reason, max(0.0, left), reason in EXTENDABLE)


class Watchdog:
    """Ends sessions that are due, warns of ends to come, and puts off an idle end on request."""

    def __init__(self, sessions: SessionRegistry, p: policy_mod.Policy, send: Send | None = None) -> None:
        self.sessions = sessions
        self.policy = p
        self.send = send  # emits an event to the server (signaling.Outbox.emit)
        self.extended: dict[str, float] = {}  # session id → when the user last asked to stay (time.monotonic())
        self.warned: dict[str, str] = {}  # session id → the reason its client was last warned of

    async def run(self) -> None:
        interval = tick_s(self.policy)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.check()
            except Exception:
                log.exception("watchdog check failed")

    def _looks_idle(self, now_mono: float) -> bool:
        """Whether some session is, by the activity porthole-core last reported, inside its
        idle warning window or past its idle timeout (a stale figure only looks idler)."""
        limit = self.policy.idle_timeout_s
        if not limit:
            return False
        near = limit - warn_ahead_s(limit)
        return any(
            not s.ending and now_mono - max(s.last_activity, self.extended.get(s.id, 0.0)) >= near
            for s in self.sessions.snapshots()
        )

    async def check(self) -> None:
        if self._looks_idle(time.monotonic()):
            await self.sessions.refresh_activity()  # ask porthole-core before warning or ending
        now_mono, now_wall = time.monotonic(), time.time()
        live = set()
        for s in self.sessions.snapshots():
            live.add(s.id)
            if s.ending:
                continue
            idle_from = self.extended.get(s.id)
            why = due(s, self.policy, now_mono, now_wall, idle_from)
            if why is not None:
                log.info("ending session: %s", why[0], extra={"session_id": s.id})
                self.sessions.end(s.id, *why)
                continue
            if not s.created:
                continue  # still being set up: nobody to warn yet
            up = upcoming(s, self.policy, now_mono, now_wall, idle_from)
            await self._warn(s.id, up)
        for gone in (set(self.extended) | set(self.warned)) - live:
            self.extended.pop(gone, None)
            self.warned.pop(gone, None)

    async def _warn(self, session_id: str, up: Upcoming | None) -> None:
        before = self.warned.get(session_id)
        if up is not None and up.reason != before:
            self.warned[session_id] = up.reason
            log.info("warning: %s in %.0f s", up.reason, up.ends_in_s, extra={"session_id": session_id})
            await self._send(
                {
                    "session_id": session_id,
                    "reason": up.reason,
                    "ends_in_s": round(up.ends_in_s, 1),
                    "extendable": up.extendable,
                    "message": up.message,
                }
            )
        elif up is None and before is not None:
            del self.warned[session_id]
            await self._send({"session_id": session_id, "reason": before, "cleared": True})

    async def _send(self, payload: dict[str, Any]) -> None:
        if self.send is not None:
            await self.send("session:warning", payload)

    async def on_extend(self, data: object) -> dict[str, Any]:
        """`session:extend` from the server (the user asked to stay): the ack for the server."""
        sid = data.get("session_id") if isinstance(data, dict) else None
        s = self.sessions.get(sid) if isinstance(sid, str) and wire.session_id_ok(sid) else None
        if s is None or s.ending:
            return {"ok": False, "error": {"code": errors.SESSION_NOT_FOUND, "message": "no such session"}}
        now_mono = time.monotonic()
        up = upcoming(s, self.policy, now_mono, time.time(), self.extended.get(s.id))
        if up is not None and not up.extendable:
            return {"ok": False, "error": {"code": wire.NOT_EXTENDABLE, "message": up.message}}
        self.extended[s.id] = now_mono  # counts as activity: the idle clock starts again
        log.info("idle timeout put off at the user's request", extra={"session_id": s.id})
        await self._warn(s.id, upcoming(s, self.policy, now_mono, time.time(), now_mono))
        return {"ok": True, "idle_timeout_s": self.policy.idle_timeout_s}
