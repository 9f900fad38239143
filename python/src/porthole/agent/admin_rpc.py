"""The admin API's RPCs (proto/porthole/rpc/v1/admin.proto): the agent's view
of each session joined with the sidecar's, the event stream, close, stats and
health. Domain facts become gRPC status codes only here."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import grpc
from google.protobuf import struct_pb2

from porthole import wire
from porthole.agent import diagnosis
from porthole.agent.events import Event
from porthole.agent.metrics import REASON_RE, AgentMetrics
from porthole.agent.views import AgentViews, SessionSnapshot
from porthole.rpc.v1 import admin_pb2 as apb
from porthole.rpc.v1 import admin_pb2_grpc
from porthole.rpc.v1 import sidecar_pb2 as pb

log = logging.getLogger("porthole.agent.admin")

SESSION_ID_ERROR = f"session_id: 1..{wire.MAX_SESSION_ID_LEN} of [A-Za-z0-9_-]"
DEFAULT_CLOSE_REASON = wire.CLOSED_BY_ADMIN
DEFAULT_LIST_LIMIT = 1000
# Events a watcher may lag behind before it is cut off (RESOURCE_EXHAUSTED).
WATCH_BUFFER = 1024
# The sidecar is local and answers stats and health in milliseconds; a slow
# answer must not hang a debugging tool.
SIDECAR_RPC_TIMEOUT_S = 2.0
# Event fields that must never leave the agent, whatever a publisher adds.
SECRET_FIELDS = frozenset({"grant", "token", "secret", "password", "credential", "sdp", "auth"})
# A candidate line carries the ICE username fragment; like the logs, watchers don't get it.
_UFRAG_RE = re.compile(r"\b(ufrag) \S+")


def _micros(t: float) -> int:
    return int(t * 1_000_000) if t else 0


def _fields(fields: dict[str, object]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    clean: dict[str, str | int | float | bool | None] = {}
    for k, v in fields.items():
        if k.lower() in SECRET_FIELDS:
            continue
        if k == "candidate" and isinstance(v, str):
            v = _UFRAG_RE.sub(r"\1 <redacted>", v)
        clean[k] = v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
    out.update(clean)
    return out


def event_to_proto(ev: Event) -> apb.AdminEvent:
    return apb.AdminEvent(
        name=ev.name, session_id=ev.session_id or "", time_unix_micros=_micros(ev.ts), fields=_fields(ev.fields)
    )


def _strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class Listeners(Protocol):
    """Where the admin API and metrics listen (admin.AdminServer), and the sidecar's own health check."""

    metrics_address: str
    socket_address: str
    tls_address: str

    async def check_sidecar(self) -> tuple[str, float]: ...


class AdminService(admin_pb2_grpc.AdminServicer):
    def __init__(self, agent: AgentViews, metrics: AgentMetrics, listeners: Listeners) -> None:
        self._srv = listeners
        self.agent = agent
        self.metrics = metrics

    # ---------------------------------------------------------------- joining

    async def _transport(self, session_id: str = "") -> tuple[dict[str, pb.SessionStats], str]:
        """The sidecar's stats by session id, or ({}, why not)."""
        stub = self.agent.sidecar.stub
        if stub is None or not self.agent.sidecar.ready:
            return {}, "sidecar unavailable: not running"
        try:
            resp = await stub.GetStats(pb.GetStatsRequest(session_id=session_id), timeout=SIDECAR_RPC_TIMEOUT_S)
        except grpc.aio.AioRpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                return {}, "the sidecar has no peer connection for it (yet)"
            return {}, f"sidecar unavailable: {e.code().name}: {e.details()}"
        self.agent.sessions.apply_stats(list(resp.sessions))  # byte counts and idle clocks, fresh
        return {s.session_id: s for s in resp.sessions}, ""

    def _info(self, s: SessionSnapshot, stats: dict[str, pb.SessionStats], err: str) -> apb.SessionInfo:
        sid, g = s.id, s.grant
        live = self.metrics.live.get(sid)
        if s.detached:
            state = "detached"
        elif s.has_process or (live is not None and live.started_at):
            state = "running"
        elif s.created:
            state = "connecting"
        else:
            state = "negotiating"
        info = apb.SessionInfo(
            session_id=sid,
            kind=g.kind,
            mode=g.mode,
            state=state,
            user=g.user,
            org=g.org,
            device_id=g.device_id,
            target_id=g.target_id,
            target_kind=s.target_kind,
            container_id=s.container_id,
            grant_expires_unix_micros=_micros(g.expires_at),
            exec_id=s.exec_id,
            pid=s.pid,
            cols=s.cols,
            rows=s.rows,
            binary=live.binary if live else False,
            opened_unix_micros=_micros(s.started_wall),
            started_unix_micros=_micros(live.started_at) if live else 0,
            setup_ms=live.setup_s * 1000 if live else 0.0,
            age_ms=int((time.monotonic() - s.started_monotonic) * 1000),
            bytes_from_peer=s.bytes_from_peer,
            bytes_to_peer=s.bytes_to_peer,
            ice_state=s.ice_state,
            peer_state=s.peer_state,
        )
        if sid in stats:
            info.transport.CopyFrom(stats[sid])
        else:
            info.transport_error = err or "the sidecar has no peer connection for it (yet)"
        return info

    async def _live(self, sid: str, context: grpc.aio.ServicerContext) -> SessionSnapshot:
        if not wire.session_id_ok(sid):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, SESSION_ID_ERROR)
        s = self.agent.sessions.get(sid)
        if s is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no live session {sid!r} on this agent")
        return s

    # ---------------------------------------------------------------- RPCs

    async def ListSessions(self, request, context):
        limit = request.limit or DEFAULT_LIST_LIMIT
        sessions = self.agent.sessions
        stats, err = await self._transport() if sessions.count() else ({}, "")
        ids = sessions.ids()
        out = apb.ListSessionsResponse(total=len(ids))
        for sid in ids[:limit]:
            s = sessions.get(sid)
            if s is not None:  # may have ended while we asked the sidecar
                out.sessions.append(self._info(s, stats, err))
        return out

    async def GetSession(self, request, context):
        sid = request.session_id
        await self._live(sid, context)
        stats, err = await self._transport(sid)
        return self._info(await self._live(sid, context), stats, err)

    async def WatchEvents(self, request, context):
        only = request.session_id
        if only and not wire.session_id_ok(only):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, SESSION_ID_ERROR)
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        cut_off = False

        def on_event(ev: Event) -> None:
            nonlocal cut_off
            if cut_off or (only and ev.session_id != only):
                return
            if queue.qsize() >= WATCH_BUFFER:
                cut_off = True
                queue.put_nowait(None)
                return
            queue.put_nowait(ev)

        unsubscribe = self.agent.events.subscribe(on_event)
        try:
            # Headers now: a client that has them knows it is subscribed.
            await context.send_initial_metadata(())
            while True:
                ev = await queue.get()
                if ev is None:
                    await context.abort(
                        grpc.StatusCode.RESOURCE_EXHAUSTED, f"watcher fell more than {WATCH_BUFFER} events behind"
                    )
                    return
                yield event_to_proto(ev)
        finally:
            unsubscribe()

    async def CloseSession(self, request, context):
        sid = request.session_id
        reason = request.reason or DEFAULT_CLOSE_REASON
        if not REASON_RE.match(reason) or len(reason) > wire.MAX_REASON_LEN:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "reason: 1..40 of [a-z0-9_], starting with a letter")
        await self._live(sid, context)
        ended: list[Event] = []
        unsubscribe = self.agent.events.subscribe(
            lambda ev: ended.append(ev) if ev.name == "session.ended" and ev.session_id == sid else None
        )
        try:
            await self.agent.sessions.close(sid, reason)
        finally:
            unsubscribe()
        if not ended:  # another close got there first; it did the cleanup
            await context.abort(grpc.StatusCode.NOT_FOUND, f"session {sid!r} ended while closing it")
        killed = ended[0].fields.get("killed")
        log.info("session closed by admin: %s", reason, extra={"session_id": sid})
        return apb.AdminCloseSessionResponse(processes_killed=killed if isinstance(killed, int) else 0, reason=reason)

    async def GetStats(self, request, context):
        m, agent = self.metrics, self.agent
        stats, _ = await self._transport() if agent.sessions.count() else ({}, "")
        bytes_in, bytes_out = m.bytes_totals()
        return apb.AgentStats(
            device_id=agent.device_id,
            uptime_ms=int((time.time() - m.started_at) * 1000),
            sessions_open=agent.sessions.count(),
            max_sessions=agent.max_sessions,
            sessions_requested=m.requested,
            sessions_started=m.started,
            sessions_failed=sum(m.failed.values()),
            sessions_ended=sum(m.ended.values()),
            failed_by_reason=dict(m.failed),
            ended_by_reason=dict(m.ended),
            open_by_kind=m.open_by_kind(),
            bytes_from_peers=bytes_in,
            bytes_to_peers=bytes_out,
            transport_bytes_sent=sum(s.bytes_sent for s in stats.values()),
            transport_bytes_received=sum(s.bytes_received for s in stats.values()),
            setup_ms_mean=(m.setup_sum_s / m.started * 1000) if m.started else 0.0,
            setup_ms_max=m.setup_max_s * 1000,
            targets=agent.target_count(),
            sidecar_restarts=agent.sidecar.restarts,
            signaling_connected=agent.link.status().state == "connected",
        )

    async def Health(self, request, context):
        agent = self.agent
        side = agent.sidecar
        status, check_ms = await self._srv.check_sidecar()
        n_sidecar = 0
        if status == "SERVING":
            stats, _ = await self._transport()
            n_sidecar = len(stats)
        accepting = agent.accepting()
        problems = []
        if not accepting:
            problems.append("not accepting sessions (starting or shutting down)")
        if not side.ready:
            problems.append("sidecar not ready (starting or restarting)")
        if status != "SERVING":
            problems.append(f"sidecar health check: {status}")
        link = agent.link.status()
        if link.state != "connected":
            problems.append(
                f"not connected to the signaling server ({link.state} for "
                f"{link.disconnected_s:.0f} s{', last error: ' + link.last_error if link.last_error else ''})"
            )
        return apb.HealthResponse(
            ok=not problems,
            problems=problems,
            device_id=agent.device_id,
            agent_pid=os.getpid(),
            uptime_ms=int((time.time() - self.metrics.started_at) * 1000),
            accepting=accepting,
            signaling_connected=link.state == "connected",
            server_url=_strip_userinfo(agent.server_url),
            signaling_state=link.state,
            signaling_disconnected_ms=int(link.disconnected_s * 1000),
            signaling_failed_attempts=link.failed_attempts,
            signaling_last_error=link.last_error,
            sidecar=apb.SidecarHealth(
                ready=side.ready,
                pid=side.pid or 0,
                restarts=side.restarts,
                status=status,
                check_ms=check_ms,
                socket=str(agent.sidecar_socket),
                sessions=n_sidecar,
            ),
            metrics_address=self._srv.metrics_address,
            admin_socket=self._srv.socket_address,
            admin_tls_address=self._srv.tls_address,
        )

    async def Diagnose(self, request, context):
        sid = request.session_id
        if not wire.session_id_ok(sid):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, SESSION_ID_ERROR)
        book = self.agent.diagnoses
        s = self.agent.sessions.get(sid)
        if s is not None:
            stats, err = await self._transport(sid)
            st = stats.get(sid)
            ice = st.ice if st is not None and st.HasField("ice") else None
            if ice is None and not err:
                err = "the sidecar has no peer connection for it (yet)"
            return diagnosis.diagnose_live(sid, book.live(sid), s.ice_state, s.peer_state, ice, err)
        ended = book.recent(sid)
        if ended is None:
            await context.abort(
                grpc.StatusCode.NOT_FOUND,
                f"no live session {sid!r} on this agent, and none that failed recently "
                f"(the last {diagnosis.RECENT_DIAGNOSES} failures are kept)",
            )
        return diagnosis.diagnose_ended(sid, ended)

    async def Doctor(self, request, context):
        resp = await self.agent.doctor.run(self._srv.check_sidecar)
        failed = [c.name for c in resp.checks if c.status == "fail"]
        log.info("doctor: %s", "ok" if resp.ok else "FAIL " + ",".join(failed))
        return resp
