"""The agent's session event bus: porthole.events, re-exported under its old name."""

from porthole.events import Event, EventBus, Subscriber

__all__ = ["Event", "EventBus", "Subscriber"]
