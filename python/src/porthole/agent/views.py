"""The narrow views the admin API, metrics and the watchdog get of the agent,
instead of the agent itself: a frozen snapshot per session, and small
protocols for the session registry and the agent's own state.

It imports no agent module but events.py, so any module may depend on it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from porthole.agent.events import EventBus
from porthole.grant import Grant


@dataclass(frozen=True)
class SessionSnapshot:
    """One live session at one instant."""

    id: str
    grant: Grant  # who, what, how (kind, mode) and until when
    target_kind: str  # "container", "host" or "screen"
    container_id: str  # "" unless a container
    started_monotonic: float  # when the offer was accepted (time.monotonic())
    started_wall: float  # the same, wall clock
    last_activity: float  # last input or output as porthole-core last reported it (time.monotonic())
    ending: bool  # an end was already asked for (the watchdog does not ask twice)
    created: bool  # porthole-core has the peer connection (the answer went out)
    has_process: bool  # the shell's process was started
    ice_state: str
    peer_state: str
    exec_id: str  # docker exec id; "" for a host shell or a screen
    pid: int  # the process's pid as the agent sees it; 0 when none
    cols: int  # terminal size; 0 for a screen
    rows: int
    bytes_from_peer: int  # input written to the process (porthole-core's count, as last reported)
    bytes_to_peer: int  # output sent to the peer (likewise)
    detached: bool = False  # its connection is lost; the shell waits for a resume (resume.py)


class SessionRegistry(Protocol):
    """The live sessions: read them, and end one."""

    def ids(self) -> list[str]:
        """Ids of the live sessions, oldest first."""
        ...

    def get(self, session_id: str) -> SessionSnapshot | None: ...

    def snapshots(self) -> list[SessionSnapshot]:
        """Every live session, oldest first."""
        ...

    def count(self) -> int: ...

    def end(self, session_id: str, code: str, message: str) -> None:
        """Asks a session to end with this reason (a running terminal says why on its channel first)."""
        ...

    async def refresh_activity(self, sid: str = "") -> None:
        """Asks porthole-core what crossed the terminals (idle clocks, byte counts)."""
        ...

    def apply_stats(self, stats: list[Any]) -> None:
        """The same from porthole-core statistics the caller already has (SessionStats)."""
        ...

    async def close(self, session_id: str, reason: str) -> None:
        """Ends a session now: kill its processes, close the peer, tell the server."""
        ...


@dataclass(frozen=True)
class UplinkStatus:
    """The link to the signaling server (uplink.py)."""

    state: str  # "connected", "connecting" or "disconnected"
    disconnected_s: float  # how long it has been down (since start when never up); 0 when connected
    failed_attempts: int  # attempts since the last connection that did not connect
    last_error: str  # code of the last failed attempt or loss reason; "" when none


class LinkView(Protocol):
    def status(self) -> UplinkStatus: ...


class SidecarView(Protocol):
    """porthole-core's supervisor (sidecar.py), as admin and metrics read it."""

    @property
    def ready(self) -> bool: ...
    @property
    def pid(self) -> int | None: ...
    @property
    def restarts(self) -> int: ...
    @property
    def stub(self) -> Any: ...  # its gRPC stub (SidecarStub), None when not running


class DiagnosisView(Protocol):
    """diagnosis.DiagnosisBook, as the admin API reads it."""

    def live(self, session_id: str) -> Any: ...  # the ICE setup of a live session, or None

    def recent(self, session_id: str) -> Any: ...  # a recently failed session's diagnosis, or None


class DoctorView(Protocol):
    """doctor.Doctor, as the admin API runs it."""

    async def run(self, sidecar_health: Callable[[], Awaitable[tuple[str, float]]]) -> Any: ...  # DoctorResponse


@dataclass(frozen=True)
class AgentViews:
    """Everything the admin API and metrics may see of the agent."""

    device_id: str
    server_url: str
    max_sessions: int
    sidecar_socket: Path  # porthole-core's gRPC socket (admin checks its health on it)
    sessions: SessionRegistry
    events: EventBus  # to subscribe to (metrics, `ctl watch`) and nothing else
    sidecar: SidecarView
    link: LinkView
    accepting: Callable[[], bool]  # new offers are accepted (false while starting or shutting down)
    target_count: Callable[[], int]  # targets offered now
    diagnoses: DiagnosisView  # ICE setup of live sessions, diagnoses of recently failed ones
    doctor: DoctorView  # `porthole ctl doctor`'s checks
