"""The session event bus, one per process: everything that happens to a session
is published here once, for the audit log, metrics, recordings, `porthole ctl
watch` and whatever else subscribes. Subscribers are plain callables, called in
the order they subscribed; a failing subscriber is logged and never breaks a
session.

Event names (stable):
- agent (porthole.agent): session.requested, session.denied, session.answered,
  session.candidate (local or remote), session.state (ice/peer state changes),
  session.started, session.resized, session.ended, session.ice_restarted;
- server (porthole.server): session.opened, session.open_denied,
  session.closed, session.rerouted, session.ice_restarted, client.denied,
  login (see server/README.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

log = logging.getLogger("porthole.events")


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
            except Exception:  # a subscriber must never break a session
                log.exception("event subscriber failed", extra={"event": name})
