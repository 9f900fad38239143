"""Why a session connects badly or did not connect, as the device side saw it
(`porthole ctl diagnose`): what the agent gave the session (ICE server URLs,
relay policy), the sidecar's IceDiagnosis (sidecar.proto), and hints in words,
the device-side counterparts of the page's (web/src/diagnose.js).

DiagnosisBook follows the session events on the bus (`session.ice`,
`session.state`, `session.ended`) and porthole-core's final diagnosis of each
closed peer connection, and keeps the last RECENT_DIAGNOSES of sessions that
failed, so that a session which is already gone can still be diagnosed.
Nothing here holds a credential: URLs only."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from porthole import errors, wire
from porthole.events import Event
from porthole.rpc.v1 import admin_pb2 as apb
from porthole.rpc.v1 import sidecar_pb2 as pb

# Failed sessions whose diagnosis is kept after they ended: enough for the
# failures of a busy hour on one device, a few hundred KiB at most (each
# diagnosis holds at most a few dozen candidates and pairs).
RECENT_DIAGNOSES = 32
# Ends that count as a failure to connect, whatever the ICE state was.
FAILURE_REASONS = frozenset({errors.ICE_FAILED, wire.PEER_FAILED, wire.SETUP_TIMEOUT})
CONNECTED_STATES = frozenset({"connected", "completed"})


def strip_url(url: str) -> str:
    """A STUN/TURN URL without any userinfo (the offer's URLs carry none; this keeps it so)."""
    scheme, colon, rest = url.partition(":")
    where, q, query = rest.partition("?")
    return f"{scheme}{colon}{where.rsplit('@', 1)[-1]}{q}{query}"


@dataclass
class _Setup:
    """What the agent knows of one session's ICE while it lives."""

    urls: tuple[str, ...] = ()
    relay_policy: str = "all"
    ice_state: str = ""
    peer_state: str = ""
    connected: bool = False  # ICE reached connected at least once


@dataclass
class Ended:
    """A failed session's diagnosis, kept after it ended."""

    setup: _Setup
    reason: str
    ended_at: float  # time.time()
    ice: pb.IceDiagnosis | None = None


@dataclass
class DiagnosisBook:
    """The ICE setup of live sessions and the last diagnoses of failed ones (bounded)."""

    limit: int = RECENT_DIAGNOSES
    _live: dict[str, _Setup] = field(default_factory=dict)
    _recent: OrderedDict[str, Ended] = field(default_factory=OrderedDict)
    # porthole-core's final diagnosis, when it came before the agent's `session.ended`.
    _final: OrderedDict[str, pb.IceDiagnosis] = field(default_factory=OrderedDict)

    def on_event(self, ev: Event) -> None:
        """An EventBus subscriber."""
        sid = ev.session_id
        if not sid:
            return
        f = ev.fields
        if ev.name == "session.ice":
            urls = f.get("ice_servers", "")
            self._live[sid] = _Setup(
                urls=tuple(strip_url(u) for u in str(urls).split()), relay_policy=str(f.get("relay_policy", "all"))
            )
        elif ev.name == "session.state":
            s = self._live.setdefault(sid, _Setup())
            if "ice_state" in f:
                s.ice_state = str(f["ice_state"])
                s.connected = s.connected or s.ice_state in CONNECTED_STATES
            if "peer_state" in f:
                s.peer_state = str(f["peer_state"])
        elif ev.name == "session.ended":
            s = self._live.pop(sid, _Setup())
            reason = str(f.get("reason", ""))
            final = self._final.pop(sid, None)
            if reason in FAILURE_REASONS or not s.connected:
                self._keep(sid, Ended(s, reason, time.time(), final))

    def sidecar_closed(self, session_id: str, closed: pb.SessionClosed) -> None:
        """porthole-core's SessionClosed: its diagnosis taken before the peer connection closed."""
        if not closed.HasField("ice"):
            return
        ended = self._recent.get(session_id)
        if ended is not None:
            ended.ice = closed.ice
        elif session_id in self._live:  # the agent's `session.ended` follows
            self._final[session_id] = closed.ice
            while len(self._final) > self.limit:
                self._final.popitem(last=False)

    def _keep(self, sid: str, ended: Ended) -> None:
        self._recent[sid] = ended
        self._recent.move_to_end(sid)
        while len(self._recent) > self.limit:
            self._recent.popitem(last=False)

    def live(self, session_id: str) -> _Setup | None:
        return self._live.get(session_id)

    def recent(self, session_id: str) -> Ended | None:
        return self._recent.get(session_id)


def diagnose_live(
    sid: str, setup: _Setup | None, ice_state: str, peer_state: str, ice: pb.IceDiagnosis | None, ice_error: str
) -> apb.Diagnosis:
    s = setup or _Setup()
    d = apb.Diagnosis(
        session_id=sid,
        live=True,
        ice_server_urls=s.urls,
        relay_policy=s.relay_policy,
        ice_state=ice_state,
        peer_state=peer_state,
        ice_error=ice_error if ice is None else "",
    )
    if ice is not None:
        d.ice.CopyFrom(ice)
    d.hints.extend(hints(d))
    return d


def diagnose_ended(sid: str, e: Ended) -> apb.Diagnosis:
    d = apb.Diagnosis(
        session_id=sid,
        live=False,
        end_reason=e.reason,
        ended_unix_micros=int(e.ended_at * 1_000_000),
        ice_server_urls=e.setup.urls,
        relay_policy=e.setup.relay_policy,
        ice_state=e.setup.ice_state,
        peer_state=e.setup.peer_state,
    )
    if e.ice is not None:
        d.ice.CopyFrom(e.ice)
    else:
        d.ice_error = "porthole-core reported no diagnosis when the session ended (it had no peer connection)"
    d.hints.extend(hints(d))
    return d


def _count(items: Iterable[object]) -> int:
    return sum(1 for _ in items)


def hints(d: apb.Diagnosis) -> list[str]:
    """What looks wrong, in words, most likely cause first; [] when nothing does."""
    out: list[str] = []
    if not d.HasField("ice"):
        if d.ice_error:
            out.append(f"no ICE details from porthole-core: {d.ice_error}")
        return out
    ice = d.ice
    connected = d.ice_state in CONNECTED_STATES
    if ice.turn_allocation == "failed":
        why = f": {ice.turn_error}" if ice.turn_error else ""
        out.append(
            "TURN configured for this session but no relay candidate: the allocation failed "
            f"(unreachable or refused){why}; check that the device reaches {', '.join(ice.turn_urls)} "
            "and that the TURN server shares the Porthole server's secret"
        )
    elif ice.turn_allocation == "not_configured" and not connected:
        out.append(
            "the device gathered no relay candidate: TURN is not configured or not reachable from the device "
            "(no TURN server was given for this session; see [server.turn] in docs/deploy.md)"
        )
    elif ice.turn_allocation == "pending":
        out.append("the TURN allocation is still running: the device has not finished gathering candidates")
    if ice.relay_only and ice.relay_candidates == 0:
        out.append("the relay policy is on (relayed candidates only): without a relay candidate nothing can connect")
    if ice.host_candidates == 0 and not ice.relay_only:
        out.append(
            "the device gathered no host candidate: check [sidecar] ice_interfaces / ice_ips and that the "
            "device has an address on them"
        )
    if connected:
        return out
    if not ice.remote_candidates:
        out.append(
            "no candidate of the browser reached the device: the browser gathered none, or its trickled "
            "candidates were lost on the way (signaling)"
        )
    elif ice.pairs and not any(p.state == "succeeded" for p in ice.pairs):
        answered = _count(p for p in ice.pairs if p.responses_received or p.requests_received)
        out.append(
            f"{len(ice.pairs)} candidate pair(s) tried, none succeeded ({answered} got any answer): the device "
            "and the browser cannot reach each other directly"
            + ("" if ice.relay_candidates else ", and no relay candidate was there to carry the session")
        )
    return out
