"""The session manager: the registry of live sessions and their lifecycle —
open one in porthole-core, hand it candidates, run its terminal, end it for
any reason, and apply what porthole-core reports of a terminal (resize, end,
activity). Admin, metrics and the watchdog see it through views.SessionRegistry
(snapshots and `close`/`end`), never the sessions themselves.

What it says to the server goes through an Outbox (signaling.py implements it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import grpc

from porthole import audit, errors, wire
from porthole.agent import detached, handoff, policy, share
from porthole.agent.admission import Admitted
from porthole.agent.bridge import run_terminal, wait_end
from porthole.agent.events import EventBus
from porthole.agent.ptys import PtyFactory
from porthole.agent.screen import ScreenSession
from porthole.agent.session import SETUP_TIMEOUT_S, Session
from porthole.agent.sidecar import Sidecar
from porthole.agent.views import SessionSnapshot
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

log = logging.getLogger("porthole.agent")

# Deadline of each sidecar call; they are local and answer in milliseconds.
RPC_TIMEOUT_S = 10.0
# How long a session waits for a restarting sidecar before it gives up.
SIDECAR_WAIT_S = 5.0
# After the close, how long the last recorded bytes may take to arrive before
# the recording is finished without them (porthole-core ends the stream at once).
RECORDING_DRAIN_S = 10.0
# porthole-core's refusals of CreateSession, as the codes the client gets.
_CREATE_ERRORS = {
    grpc.StatusCode.INVALID_ARGUMENT: errors.BAD_SDP,
    grpc.StatusCode.ALREADY_EXISTS: errors.GRANT_REPLAYED,
    grpc.StatusCode.RESOURCE_EXHAUSTED: errors.TOO_MANY_SESSIONS,
    grpc.StatusCode.FAILED_PRECONDITION: errors.SCREEN_UNAVAILABLE,  # the X display cannot be opened
}
# Reasons a terminal ends with that the client also gets as a webrtc:error.
_TERMINAL_ERRORS = (errors.EXEC_FAILED, errors.TARGET_NOT_FOUND, policy.ROOT_DENIED)


class Outbox(Protocol):
    """What the session manager tells the server about a session."""

    async def answer(self, session_id: str, sdp: str) -> None: ...
    async def candidate(self, session_id: str, cand: pb.IceCandidate) -> None: ...
    async def error(self, session_id: object, e: PortholeError) -> None: ...
    async def disconnect(self, session_id: str, reason: str) -> None: ...
    async def emit(self, event: str, data: dict) -> None: ...


class SessionManager:
    def __init__(
        self,
        sidecar: Sidecar,
        events: EventBus,
        audit_sink: audit.AuditSink,
        ptys: PtyFactory,
        outbox: Outbox,
        *,
        on_recording: Callable[[Path], None] | None = None,
    ) -> None:
        self.sidecar = sidecar
        self.events = events
        self.audit = audit_sink
        self.ptys = ptys
        self.outbox = outbox
        self._tasks: set[asyncio.Task] = set()  # closes started from sync code, kept until done
        self.on_recording = on_recording  # a finished recording (the uploader takes it)
        self._sessions: dict[str, Session] = {}
        # porthole-core's side socket: each started shell's descriptor goes there.
        self.handoff = handoff.HandoffClient(handoff.socket_path(sidecar.socket_path))

    @property
    def resume_grace_s(self) -> float:
        return self.ptys.cfg.resume_grace_s

    @property
    def scrollback_bytes(self) -> int:
        return self.ptys.cfg.resume_scrollback_bytes

    def spawn(self, coro) -> None:
        """Runs coro in the background, kept until done."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------- views.SessionRegistry

    def ids(self) -> list[str]:
        return sorted(self._sessions, key=lambda i: self._sessions[i].started_monotonic)

    def get(self, session_id: str) -> SessionSnapshot | None:
        s = self._sessions.get(session_id)
        return s.snapshot() if s is not None else None

    def snapshots(self) -> list[SessionSnapshot]:
        return [self._sessions[i].snapshot() for i in self.ids()]

    def count(self) -> int:
        return len(self._sessions)

    def end(self, session_id: str, code: str, message: str) -> None:
        s = self._sessions.get(session_id)
        if s is None or s.end_request is not None:
            return
        task = s.conn.terminal_task
        if task is not None and not task.done():
            s.request_end(code, message)  # the terminal says why on the channel, then closes
        else:
            s.end_request = (code, message)
            task = asyncio.ensure_future(self.close(session_id, code))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    # ---------------------------------------------------------------- for signaling and sidecar events

    def reannounceable(self) -> list[tuple[str, str]]:
        """(id, grant token) of each session past its answer, for `agent:sessions` (reannounce.py)."""
        return [(sid, s.grant.token) for sid, s in self._sessions.items() if s.conn.created and s.grant.token]

    def session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    async def open(self, adm: Admitted, take_early: Callable[[str], list[pb.IceCandidate]]) -> Session:
        """Registers the session, creates its peer connection in porthole-core and sends the answer."""
        sid, g, target = adm.session_id, adm.grant, adm.target
        if g.kind == "screen":
            session: Session = ScreenSession(sid, g, target, self.events, stub=lambda: self.sidecar.stub)
        else:
            session = Session(
                sid,
                g,
                target,
                adm.cols,
                adm.rows,
                self.events,
                spec=adm.spec,
                forbid_root=target.kind == "container" and not self.ptys.cfg.policy.allow_root,
            )
        session.resume_from = adm.resume_from
        if adm.join_of:  # a viewer (share.py): no shell of its own
            session.join_of, session.join_issued_at, session.shell = adm.join_of, adm.join_issued_at, None
        self._sessions[sid] = session
        # Candidates that came before the offer; from now on they wait in the connection.
        session.conn.pending_candidates[:0] = take_early(sid)
        self.events.publish("session.requested", sid, **session.audit_fields())
        if self.audit.sync and self.audit.last_error is not None:
            # Sync audit: no session without its record.
            self._sessions.pop(sid, None)
            raise PortholeError(policy.AUDIT_UNAVAILABLE, "the device's audit log cannot be written")
        try:
            stub = await self.sidecar.wait_ready(SIDECAR_WAIT_S)
            req = (
                session.create_request(adm.sdp)
                if isinstance(session, ScreenSession)
                else pb.CreateSessionRequest(session_id=sid, offer_sdp=adm.sdp, kind="terminal")
            )
            req.ice_servers.extend(adm.ice.servers)  # the TURN credential minted for this device and session
            req.relay_only = adm.ice.relay_only
            resp = await stub.CreateSession(req, timeout=RPC_TIMEOUT_S)
        except grpc.aio.AioRpcError as e:
            self._sessions.pop(sid, None)
            code = _CREATE_ERRORS.get(e.code(), errors.SIDECAR_UNAVAILABLE)
            raise PortholeError(code, e.details() or e.code().name) from e
        except PortholeError:
            self._sessions.pop(sid, None)
            raise
        if self._sessions.get(sid) is not session:  # closed while we were creating it
            await self._close_in_sidecar(sid, wire.CLOSED_DURING_SETUP)
            raise PortholeError(errors.SESSION_NOT_FOUND, "session ended during setup")
        # What `porthole ctl diagnose` reports of this session's ICE (diagnosis.py): URLs only.
        self.events.publish(
            "session.ice",
            sid,
            ice_servers=" ".join(u for s in adm.ice.servers for u in s.urls),
            relay_policy="relay" if adm.ice.relay_only else "all",
        )
        await self.outbox.answer(sid, resp.answer_sdp)
        session.conn.created = True
        self.events.publish("session.answered", sid)
        for c in session.conn.take_local():
            await self.outbox.candidate(sid, c)
        for c in session.conn.take_pending():
            await self.add_candidate(sid, c)
        loop = asyncio.get_running_loop()
        if session.join_of and isinstance(session, ScreenSession):
            try:  # its own capture, view only: nothing to attach
                await share.join_screen(self, session)
            except PortholeError as e:
                await self.outbox.error(sid, e)
                await self.close(sid, e.code)
                return session
        session.conn.setup_timer = loop.call_later(
            SETUP_TIMEOUT_S, lambda: asyncio.ensure_future(self._setup_expired(sid))
        )
        return session

    async def add_candidate(self, sid: str, cand: pb.IceCandidate) -> None:
        try:
            stub = await self.sidecar.wait_ready(SIDECAR_WAIT_S)
            await stub.AddRemoteCandidate(
                pb.AddRemoteCandidateRequest(session_id=sid, candidate=cand), timeout=RPC_TIMEOUT_S
            )
        except grpc.aio.AioRpcError as e:
            log.info("candidate refused: %s", e.details(), extra={"session_id": sid})
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                await self.outbox.error(sid, PortholeError(errors.BAD_REQUEST, "malformed ICE candidate"))
        except PortholeError as e:
            await self.outbox.error(sid, e)

    async def _setup_expired(self, sid: str) -> None:
        s = self._sessions.get(sid)
        if s and not s.running:
            await self.outbox.error(sid, PortholeError(errors.ICE_FAILED, "no connection within the setup deadline"))
            await self.close(sid, wire.SETUP_TIMEOUT)

    def start_terminal(self, session: Session, *, binary: bool = False) -> None:
        """The `terminal` channel opened: start a shell process and hand it to porthole-core."""
        if session.conn.terminal_task is not None:
            return
        session.conn.cancel_setup()
        session.conn.terminal_task = asyncio.create_task(self._run_terminal(session, binary), name=f"term-{session.id}")

    async def _run_terminal(self, session: Session, binary: bool) -> None:
        reason = errors.INTERNAL
        try:
            stub = await self.sidecar.wait_ready(SIDECAR_WAIT_S)
            if session.join_of:
                await share.join(self, session)  # returns when the session ends
                reason = wire.EXIT
            elif session.resume_from:
                await detached.take_back(self, session, session.resume_from)
                assert session.shell is not None and session.shell.pty is not None
                reason, detail = await wait_end(session, stub, session.shell.pty)
            else:
                if session.shell is not None:
                    session.shell.recorder_factory = self.ptys.recorder_for(session)
                # Always a scrollback ring: it serves a resume and a viewer joining (share.py).
                ring = self.scrollback_bytes
                pty = self.ptys.make(session)
                reason, detail = await run_terminal(session, stub, self.handoff, pty, binary=binary, ring_bytes=ring)
            log.info("terminal ended: %s (%s)", reason, detail, extra={"session_id": session.id})
            if reason in _TERMINAL_ERRORS:
                await self.outbox.error(session.id, PortholeError(reason, detail))
        except PortholeError as e:
            reason = e.code
            await self.outbox.error(session.id, e)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("terminal bridge failed", extra={"session_id": session.id})
        if reason == errors.SIDECAR_UNAVAILABLE and not self.sidecar.alive():
            # The handoff failed because porthole-core died: every session on it ends as
            # sidecar_restarted, whichever notices first (this, or the supervisor).
            await self.sidecar_lost()
            return
        await self.close(session.id, reason)

    # ---------------------------------------------------------------- control from porthole-core

    async def resize(self, sid: str, cols: int, rows: int, at: float) -> None:
        """The peer resized its terminal (SessionEvent.terminal_resize): resize the exec or PTY."""
        s = self._sessions.get(sid)
        if s is None or s.shell is None or s.shell.pty is None:
            return
        await s.shell.resize(cols, rows, at)
        self.events.publish("session.resized", sid, cols=cols, rows=rows)

    def terminal_ended(self, sid: str, reason: str, message: str) -> None:
        """porthole-core saw the shell's stream end (SessionEvent.terminal_ended): the bridge ends it."""
        s = self._sessions.get(sid)
        if s is not None and s.shell is not None:
            s.shell.ended_detail = reason if not message else f"{reason}: {message}"
            s.shell.ended.set()

    def apply_stats(self, stats: list[pb.SessionStats]) -> None:
        """Activity counted by porthole-core (SessionStats.terminal): idle clocks and byte counts."""
        for st in stats:
            s = self._sessions.get(st.session_id)
            if s is not None and s.shell is not None and st.HasField("terminal"):
                s.shell.apply_activity(st.terminal)

    async def refresh_activity(self, sid: str = "") -> None:
        """Asks porthole-core what crossed each terminal (one session, or all)."""
        stub = self.sidecar.stub
        if stub is None or not self.sidecar.ready or not any(s.shell for s in self._sessions.values()):
            return
        try:
            resp = await stub.GetStats(pb.GetStatsRequest(session_id=sid), timeout=RPC_TIMEOUT_S)
        except grpc.aio.AioRpcError:
            return  # a session gone meanwhile, or porthole-core restarting: keep the last figures
        self.apply_stats(list(resp.sessions))

    # ---------------------------------------------------------------- ending

    async def close(
        self,
        sid: str,
        reason: str,
        *,
        notify: bool = True,
        in_sidecar: bool = True,
        activity: pb.TerminalActivity | None = None,
    ) -> None:
        """Ends a session for any reason: kill its processes, close the peer, tell the server.

        activity: the terminal's final counts when porthole-core closed it (SessionClosed.terminal).
        """
        session = self._sessions.pop(sid, None)
        if session is None:
            return
        if session.detach_timer is not None:
            session.detach_timer.cancel()
        killed = await session.stop()
        if session.join_of:
            await share.left(self, session, reason)
        elif session.viewers:
            await share.owner_ended(self, session)
        shell = session.shell
        if shell is not None and activity is not None:
            shell.apply_activity(activity)
        if in_sidecar and session.conn.created:
            if shell is not None and shell.pty is not None:
                await self._final_activity(session)
            await self._close_in_sidecar(sid, reason)
        if shell is not None and shell.pty is not None:
            # The pump is resumable (a ring) even without resume, so porthole-core keeps it
            # detached when its session closes, the close above included: release it after.
            await self._drop_detached(sid)
        path = await shell.close_recording(RECORDING_DRAIN_S) if shell is not None else None
        if path is not None and self.on_recording is not None:
            self.on_recording(path)
        if notify:
            await self.outbox.disconnect(sid, reason)
        self.events.publish(
            "session.ended",
            sid,
            **session.audit_fields(),
            reason=reason,
            duration_s=round(time.monotonic() - session.started_monotonic, 3),
            bytes_in=shell.bytes_from_peer if shell else 0,
            bytes_out=shell.bytes_to_peer if shell else 0,
            exit_code=shell.exit_code if shell else None,
            killed=killed,
        )

    async def close_all(self, reason: str) -> None:
        await asyncio.gather(*(self.close(sid, reason) for sid in list(self._sessions)), return_exceptions=True)

    async def _final_activity(self, session: Session) -> None:
        stub = self.sidecar.stub
        if stub is None or session.shell is None:
            return
        with contextlib.suppress(grpc.aio.AioRpcError):
            resp = await stub.GetStats(pb.GetStatsRequest(session_id=session.id), timeout=RPC_TIMEOUT_S)
            for st in resp.sessions:
                if st.HasField("terminal"):
                    session.shell.apply_activity(st.terminal)

    async def _drop_detached(self, sid: str) -> None:
        """Releases porthole-core's detached pump of sid, if it keeps one."""
        stub = self.sidecar.stub
        if stub is None:
            return
        with contextlib.suppress(grpc.aio.AioRpcError):
            await stub.DropTerminal(pb.DropTerminalRequest(session_id=sid), timeout=RPC_TIMEOUT_S)

    def lost(self, sid: str, reason: str, detached_in_core: bool) -> bool:
        """The peer of sid went away: keep its shell detached when resume allows; True if so."""
        s = self._sessions.get(sid)
        if s is None or not detached_in_core or not detached.can_detach(self, s):
            return False
        detached.detach(self, s, reason)
        return True

    async def _close_in_sidecar(self, sid: str, reason: str) -> None:
        stub = self.sidecar.stub
        if stub is None:
            return
        with contextlib.suppress(grpc.aio.AioRpcError):
            await stub.CloseSession(pb.CloseSessionRequest(session_id=sid, reason=reason), timeout=RPC_TIMEOUT_S)

    async def sidecar_lost(self) -> None:
        """porthole-core died: every session on it ends (their peer connections went with it).

        A terminal that may be resumed (detached.py) keeps its shell detached: the
        agent has its descriptor and hands it to the new porthole-core on resume.
        The others are killed; the audit records each end with reason sidecar_restarted."""
        self.handoff.close()  # the next handoff connects to the new porthole-core
        for sid in list(self._sessions):
            s = self._sessions.get(sid)
            if s is not None and s.detached:
                continue  # already waiting for a resume; its pump went with porthole-core
            if s is not None and detached.can_detach(self, s):
                # The shell survives: we keep its descriptor; a resume hands it to the new porthole-core.
                detached.detach(self, s, wire.SIDECAR_RESTARTED)
                continue
            await self.outbox.error(sid, PortholeError(errors.SIDECAR_UNAVAILABLE, "WebRTC engine restarted"))
            await self.close(sid, wire.SIDECAR_RESTARTED, in_sidecar=False)
