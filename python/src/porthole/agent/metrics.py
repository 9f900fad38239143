"""Agent-wide figures from the session event bus: plain counters for the admin
API's GetStats, and the same facts as Prometheus metrics (docs/ctl.md).

Nothing here edits session code: everything comes from bus events
(session.requested / denied / started / ended) and, at scrape time, from the
agent's live state (open sessions, sidecar, signaling connection).
"""

from __future__ import annotations

import re
import time
from collections import Counter as Tally
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from porthole.agent.events import Event
from porthole.agent.views import AgentViews

# The *_created series double every counter for no use here.
disable_created_metrics()

# Reasons come from error codes and close reasons, and a client may send its
# own close reason: only short codes become label values, and only this many
# distinct ones, so an outside party cannot grow the metrics without bound.
REASON_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_REASONS = 64
OTHER_REASON = "other"
KINDS = ("terminal", "screen")
SIGNALING_STATES = ("connected", "connecting", "disconnected")  # uplink.STATES
# Offer received → session running; ICE on a LAN takes well under a second,
# through TURN or on a loaded device a few, and SETUP_TIMEOUT_S (45) is the end.
SETUP_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 45.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


@dataclass
class Live:
    """What the bus told us about one live session."""

    kind: str
    requested_at: float  # wall clock, from session.requested
    started_at: float = 0.0  # wall clock, from session.started; 0 while not running
    binary: bool = False

    @property
    def setup_s(self) -> float:
        return self.started_at - self.requested_at if self.started_at else 0.0


class AgentMetrics:
    def __init__(self, agent: AgentViews) -> None:
        self.agent = agent
        self.started_at = time.time()
        self.live: dict[str, Live] = {}
        self.requested = 0
        self.started = 0
        self.failed: Tally[str] = Tally()
        self.ended: Tally[str] = Tally()
        # Bytes of ended sessions; live sessions are added at read time.
        self.bytes_from_peers_ended = 0
        self.bytes_to_peers_ended = 0
        self.setup_sum_s = 0.0
        self.setup_max_s = 0.0

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._requested = Counter(
            "porthole_agent_sessions_requested", "Offers accepted (grant valid, session created)", ["kind"], registry=r
        )
        self._opened = Counter(
            "porthole_agent_sessions_opened",
            "Sessions that started running (data channel open, process started)",
            ["kind"],
            registry=r,
        )
        self._failed = Counter(
            "porthole_agent_sessions_failed",
            "Offers refused (reason = error code) and sessions that ended before running (reason = end reason)",
            ["reason"],
            registry=r,
        )
        self._ended = Counter("porthole_agent_sessions_ended", "Sessions that ended, by reason", ["reason"], registry=r)
        self._setup = Histogram(
            "porthole_agent_session_setup_seconds",
            "Offer received to session running (data channel open and process started)",
            ["kind"],
            buckets=SETUP_BUCKETS_S,
            registry=r,
        )
        for k in KINDS:  # so the series exist (at 0) before the first session
            self._requested.labels(k)
            self._opened.labels(k)
        r.register(_LiveCollector(self))
        self._unsubscribe = agent.events.subscribe(self._on_event)

    def close(self) -> None:
        self._unsubscribe()

    # ---------------------------------------------------------------- bus

    def _on_event(self, ev: Event) -> None:
        sid, f = ev.session_id, ev.fields
        if ev.name == "session.requested" and sid:
            kind = _kind(f.get("kind"))
            self.live[sid] = Live(kind=kind, requested_at=ev.ts)
            self.requested += 1
            self._requested.labels(kind).inc()
        elif ev.name == "session.denied":
            # Also for an offer refused after its session was created (the sidecar said no).
            if sid:
                self.live.pop(sid, None)
            self._fail(str(f.get("code") or "denied"))
        elif ev.name == "session.started" and sid in self.live:
            live = self.live[sid]
            live.started_at = ev.ts
            live.binary = bool(f.get("binary"))
            self.started += 1
            self._opened.labels(live.kind).inc()
            setup = max(0.0, live.setup_s)
            self.setup_sum_s += setup
            self.setup_max_s = max(self.setup_max_s, setup)
            self._setup.labels(live.kind).observe(setup)
        elif ev.name == "session.ended":
            ended: Live | None = self.live.pop(sid, None) if sid else None
            reason = self._reason(str(f.get("reason") or "closed"), self.ended)
            self.ended[reason] += 1
            self._ended.labels(reason).inc()
            if ended is not None and not ended.started_at:
                self._fail(reason)
            self.bytes_from_peers_ended += _int(f.get("bytes_in"))
            self.bytes_to_peers_ended += _int(f.get("bytes_out"))

    def _fail(self, reason: str) -> None:
        reason = self._reason(reason, self.failed)
        self.failed[reason] += 1
        self._failed.labels(reason).inc()

    @staticmethod
    def _reason(reason: str, seen: Tally[str]) -> str:
        if not REASON_RE.match(reason):
            return OTHER_REASON
        if reason not in seen and len(seen) >= MAX_REASONS:
            return OTHER_REASON
        return reason

    # ---------------------------------------------------------------- reads

    def bytes_totals(self) -> tuple[int, int]:
        """(from peers, to peers) over ended and ended sessions."""
        ended = self.agent.sessions.snapshots()
        return (
            self.bytes_from_peers_ended + sum(s.bytes_from_peer for s in ended),
            self.bytes_to_peers_ended + sum(s.bytes_to_peer for s in ended),
        )

    def open_by_kind(self) -> dict[str, int]:
        out: Tally[str] = Tally({k: 0 for k in KINDS})
        for s in self.agent.sessions.snapshots():
            out[_kind(s.grant.kind)] += 1
        return dict(out)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _LiveCollector:
    """Figures read from the agent at scrape time."""

    def __init__(self, m: AgentMetrics) -> None:
        self.m = m

    def describe(self):
        return []

    def collect(self):
        agent = self.m.agent
        g = GaugeMetricFamily("porthole_agent_sessions_open", "Live sessions", labels=["kind"])
        for kind, n in self.m.open_by_kind().items():
            g.add_metric([kind], n)
        yield g
        yield GaugeMetricFamily("porthole_agent_max_sessions", "Configured session limit", value=agent.max_sessions)
        b = CounterMetricFamily(
            "porthole_agent_session_bytes",
            "Bytes between processes and peers, direction in = from peers (input), out = to peers (output)",
            labels=["direction"],
        )
        bytes_in, bytes_out = self.m.bytes_totals()
        b.add_metric(["in"], bytes_in)
        b.add_metric(["out"], bytes_out)
        yield b
        yield CounterMetricFamily(
            "porthole_agent_sidecar_restarts",
            "Times porthole-core was restarted after it died",
            value=agent.sidecar.restarts,
        )
        yield GaugeMetricFamily(
            "porthole_agent_sidecar_up",
            "1 when porthole-core is running and healthy",
            value=1 if agent.sidecar.ready else 0,
        )
        link = agent.link.status()
        yield GaugeMetricFamily(
            "porthole_agent_signaling_connected",
            "1 when connected to the signaling server",
            value=1 if link.state == "connected" else 0,
        )
        st = GaugeMetricFamily(
            "porthole_agent_signaling_state",
            "1 for the link's current state (connected, connecting, disconnected)",
            labels=["state"],
        )
        for state in SIGNALING_STATES:
            st.add_metric([state], 1 if link.state == state else 0)
        yield st
        yield GaugeMetricFamily(
            "porthole_agent_signaling_disconnected_seconds",
            "How long the signaling link has been down; 0 while connected",
            value=link.disconnected_s,
        )
        yield GaugeMetricFamily(
            "porthole_agent_signaling_failed_attempts",
            "Connect attempts that failed since the link was last up",
            value=link.failed_attempts,
        )
        yield GaugeMetricFamily(
            "porthole_agent_targets", "Targets offered (containers, host)", value=agent.target_count()
        )


def _kind(value: object) -> str:
    return value if isinstance(value, str) and value in KINDS else OTHER_REASON


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0
