"""The agent's session event bus: one place where everything that happens to a
session is published, for the audit log, `porthole ctl watch`, metrics, and
whatever else subscribes. Subscribers are plain callables; a failing
subscriber is logged and never breaks a session.

Event names (stable): session.requested, session.denied, session.answered,
session.candidate (local or remote), session.state (ice/peer state changes),
session.started, session.resized, session.ended.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("porthole.agent.events")


@dataclass(frozen=True)
class Event:
    name: str
    session_id: str | None
    fields: dict[str, object] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)


Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        """Adds fn; returns a function that removes it again."""
        self._subscribers.append(fn)
        return lambda: self._subscribers.remove(fn) if fn in self._subscribers else None

    def publish(self, name: str, session_id: str | None = None, /, **fields: object) -> None:
        ev = Event(name, session_id, {k: v for k, v in fields.items() if v is not None})
        for fn in list(self._subscribers):
            try:
                fn(ev)
            except Exception:  # noqa: BLE001 - a subscriber must never break a session
                log.exception("event subscriber failed", extra={"event": name})
