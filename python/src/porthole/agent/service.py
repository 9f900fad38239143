"""The agent: wires config → sidecar, inventory, signaling and sessions.

Order of start: sidecar (healthy) → sidecar event stream → inventory →
Socket.IO. Order of shutdown: refuse new offers → close every session (kill its
processes, tell the server) → disconnect → stop the sidecar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time

import grpc
import socketio

from porthole import audit, errors, grant
from porthole.agent import auditing, policy, recording, watchdog
from porthole.agent.upload import Uploader
from porthole.agent.admin import AdminServer
from porthole.agent.events import EventBus
from porthole.agent.config import AgentConfig
from porthole.agent.pty_docker import DockerExec
from porthole.agent.pty_host import HostShell
from porthole.agent.screen import ScreenSession
from porthole.agent.session import MAX_PENDING_CANDIDATES, SETUP_TIMEOUT_S, Pty, Session
from porthole.agent.sidecar import Sidecar
from porthole.agent.targets import Inventory
from porthole.agent.uplink import Uplink
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

log = logging.getLogger("porthole.agent")

NAMESPACE = "/agent"
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
MAX_SDP_BYTES = 64 * 1024
MAX_CANDIDATE_BYTES = 1024
# Ids with early candidates but no offer yet; bounded so a flood of junk ids cannot grow memory.
MAX_PENDING_IDS = 256
PENDING_TTL_S = 30.0
# Deadline of each sidecar call; they are local and answer in milliseconds.
RPC_TIMEOUT_S = 10.0
SIDECAR_WAIT_S = 5.0
DEFAULT_COLS, DEFAULT_ROWS = 80, 24
TERM = "xterm-256color"


def _candidate_from_wire(c: object) -> pb.IceCandidate:
    """RTCIceCandidateInit (or null = end of candidates) → proto; raises bad_request."""
    if c is None:
        return pb.IceCandidate(candidate="", sdp_mid="", sdp_mline_index=-1)
    if not isinstance(c, dict):
        raise PortholeError(errors.BAD_REQUEST, "candidate must be an object or null")
    cand, mid, idx = c.get("candidate", ""), c.get("sdpMid"), c.get("sdpMLineIndex")
    if not isinstance(cand, str) or len(cand) > MAX_CANDIDATE_BYTES:
        raise PortholeError(errors.BAD_REQUEST, "candidate.candidate must be a string under 1 KiB")
    if mid is not None and (not isinstance(mid, str) or len(mid) > 64):
        raise PortholeError(errors.BAD_REQUEST, "candidate.sdpMid must be a short string")
    if idx is not None and (not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < 1024):
        raise PortholeError(errors.BAD_REQUEST, "candidate.sdpMLineIndex must be a small integer")
    return pb.IceCandidate(candidate=cand, sdp_mid=mid or "", sdp_mline_index=-1 if idx is None else idx)


def _candidate_to_wire(c: pb.IceCandidate) -> dict | None:
    if not c.candidate:
        return None
    return {"candidate": c.candidate, "sdpMid": c.sdp_mid or None,
            "sdpMLineIndex": c.sdp_mline_index if c.sdp_mline_index >= 0 else None}


def _size(data: dict) -> tuple[int, int]:
    cols, rows = data.get("cols", DEFAULT_COLS), data.get("rows", DEFAULT_ROWS)
    for v in (cols, rows):
        if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 1000:
            raise PortholeError(errors.BAD_REQUEST, "cols and rows must be integers 1..1000")
    return cols, rows


class Agent:
    def __init__(self, cfg: AgentConfig) -> None:
        self.cfg = cfg
        self.public_key = grant.load_public_key(cfg.grant_public_key)
        self.sidecar = Sidecar(cfg.sidecar, on_restart=self._on_sidecar_lost)
        self.inventory = Inventory(cfg.targets, cfg.policy, cfg.screens)
        self.sessions: dict[str, Session] = {}
        self.events = EventBus()
        self.audit = audit.AuditSink(cfg.audit, source="agent")
        self.events.subscribe(auditing.subscriber(self.audit))
        self.admin = AdminServer(self)  # admin gRPC API + metrics; subscribes to the bus
        rec = cfg.recording
        self.uploader = Uploader(cfg) if rec.enabled and rec.upload else None  # recordings → server
        self._pending: dict[str, tuple[float, list[pb.IceCandidate]]] = {}
        self._used_grants: dict[str, float] = {}  # session id → when it may be forgotten
        self._accepting = False
        self._tasks: list[asyncio.Task] = []
        self._events_ready = asyncio.Event()
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)  # uplink.py reconnects
        self.uplink = Uplink(self.sio, cfg.server_url, NAMESPACE, auth=self._auth, on_connected=self._on_connect,
                             delay_s=cfg.reconnect_delay_s, delay_max_s=cfg.reconnect_delay_max_s)
        self.connected = self.uplink.connected
        for event, handler in {
            "webrtc:offer": self._on_offer,
            "webrtc:ice": self._on_remote_ice,
            "webrtc:disconnect": self._on_remote_disconnect,
        }.items():
            self.sio.on(event, handler, namespace=NAMESPACE)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await self.admin.start()  # first, so `porthole ctl health` answers during start-up
        await self.sidecar.start()
        self._tasks.append(asyncio.create_task(self._watch_events(), name="sidecar-events"))
        await asyncio.wait_for(self._events_ready.wait(), RPC_TIMEOUT_S)
        await self.inventory.refresh()
        self._tasks.append(asyncio.create_task(self._inventory_loop(), name="inventory"))
        self._tasks.append(asyncio.create_task(watchdog.run(self), name="watchdog"))
        if self.uploader is not None:
            self._tasks.append(asyncio.create_task(self.uploader.run(), name="recording-upload"))
        self._accepting = True
        self.uplink.start()

    def _auth(self) -> dict[str, str]:
        # Called on every (re)connection attempt: a rotated secret takes effect.
        return {"device_id": self.cfg.device_id, "secret": self.cfg.read_secret()}

    async def shutdown(self) -> None:
        self._accepting = False
        await asyncio.gather(*(self.close_session(sid, "agent_shutdown") for sid in list(self.sessions)),
                             return_exceptions=True)
        await self.admin.stop()
        await self.uplink.stop()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sidecar.stop()

    # ---------------------------------------------------------------- signaling

    async def _on_connect(self) -> None:
        await self._emit("agent:inventory", {"targets": self.inventory.to_wire()})

    async def _emit(self, event: str, data: dict) -> None:
        try:
            await self.sio.emit(event, data, namespace=NAMESPACE)
        except socketio.exceptions.SocketIOError as e:
            log.warning("could not send %s: %s", event, e)

    async def _error(self, session_id: object, e: PortholeError) -> None:
        sid = session_id if isinstance(session_id, str) and SESSION_ID_RE.match(session_id) else None
        await self._emit("webrtc:error", {"session_id": sid, **e.to_wire()})

    async def _on_offer(self, data: object) -> None:
        sid = data.get("session_id") if isinstance(data, dict) else None
        try:
            session = await self._accept_offer(data)
        except PortholeError as e:
            log.info("offer refused: %s", e.code, extra={"session_id": sid})
            self.events.publish("session.denied", sid if isinstance(sid, str) else None, ok=False,
                                device=self.cfg.device_id, code=e.code, reason=e.message,
                                **auditing.identity(data, self.public_key, self.cfg.device_id))
            await self._error(sid, e)
            return
        assert session is not None

    async def _accept_offer(self, data: object) -> Session:
        if not isinstance(data, dict):
            raise PortholeError(errors.BAD_REQUEST, "offer must be an object")
        sid = data.get("session_id")
        if not isinstance(sid, str) or not SESSION_ID_RE.match(sid):
            raise PortholeError(errors.BAD_REQUEST, "session_id missing or malformed")
        if not self._accepting:
            raise PortholeError(errors.SIDECAR_UNAVAILABLE, "agent is shutting down")
        # The server is not trusted blindly: the grant is checked here, before anything exists.
        g = grant.verify(data.get("grant"), self.public_key, device_id=self.cfg.device_id)
        if g.session_id != sid:
            raise PortholeError(errors.GRANT_INVALID, "grant is for another session")
        self._forget_old_grants()
        if sid in self._used_grants or sid in self.sessions:
            raise PortholeError(errors.GRANT_REPLAYED, "grant already used")
        self._used_grants[sid] = g.expires_at + grant.LEEWAY_S
        if g.kind not in ("terminal", "screen"):
            raise PortholeError(errors.GRANT_INVALID, f"sessions of kind {g.kind!r} are not supported")
        target = self.inventory.get(g.target_id)
        if target is None:
            await self.inventory.refresh()
            target = self.inventory.get(g.target_id)
        if target is None and g.target_id in self.inventory.excluded:
            raise PortholeError(policy.TARGET_DENIED, f"target {g.target_id!r} may not be opened on this device")
        if target is None:
            raise PortholeError(errors.TARGET_NOT_FOUND, f"no target {g.target_id!r} on this device")
        if (g.kind == "screen") != (target.kind == "screen"):
            raise PortholeError(errors.BAD_REQUEST, f"target {g.target_id!r} cannot be opened as a {g.kind}")
        spec = await self._exec_spec(target, data) if g.kind == "terminal" else None
        sdp = data.get("sdp")
        if data.get("type", "offer") != "offer" or not isinstance(sdp, str) or not sdp \
                or len(sdp.encode()) > MAX_SDP_BYTES:
            raise PortholeError(errors.BAD_SDP, "offer sdp missing, not a string or over 64 KiB")
        cols, rows = _size(data)
        if len(self.sessions) >= self.cfg.max_sessions:
            raise PortholeError(errors.TOO_MANY_SESSIONS, "device session limit reached")

        if g.kind == "screen":
            session = ScreenSession(sid, g, target, self.events)
        else:
            session = Session(sid, g, target, cols, rows, self.events)
        session.spec = spec
        session.forbid_root = target.kind == "container" and not self.cfg.policy.allow_root
        self.sessions[sid] = session
        self.events.publish("session.requested", sid, **session.audit_fields())
        if self.audit.sync and self.audit.last_error is not None:
            # Sync audit: no session without its record.
            self.sessions.pop(sid, None)
            raise PortholeError(policy.AUDIT_UNAVAILABLE, "the device's audit log cannot be written")
        try:
            stub = await self.sidecar.wait_ready(SIDECAR_WAIT_S)
            req = session.create_request(sdp) if isinstance(session, ScreenSession) else \
                pb.CreateSessionRequest(session_id=sid, offer_sdp=sdp, kind="terminal")
            resp = await stub.CreateSession(req, timeout=RPC_TIMEOUT_S)
        except grpc.aio.AioRpcError as e:
            self.sessions.pop(sid, None)
            code = {
                grpc.StatusCode.INVALID_ARGUMENT: errors.BAD_SDP,
                grpc.StatusCode.ALREADY_EXISTS: errors.GRANT_REPLAYED,
                grpc.StatusCode.RESOURCE_EXHAUSTED: errors.TOO_MANY_SESSIONS,
                grpc.StatusCode.FAILED_PRECONDITION: errors.SCREEN_UNAVAILABLE,  # the X display cannot be opened
            }.get(e.code(), errors.SIDECAR_UNAVAILABLE)
            raise PortholeError(code, e.details() or e.code().name) from e
        except PortholeError:
            self.sessions.pop(sid, None)
            raise
        if self.sessions.get(sid) is not session:  # closed while we were creating it
            await self._close_in_sidecar(sid, "closed_during_setup")
            raise PortholeError(errors.SESSION_NOT_FOUND, "session ended during setup")
        await self._emit("webrtc:answer", {"session_id": sid, "type": "answer", "sdp": resp.answer_sdp})
        session.created = True
        self.events.publish("session.answered", sid)
        for c in session.local_candidates:
            await self._emit("webrtc:ice", {"session_id": sid, "candidate": _candidate_to_wire(c)})
        session.local_candidates.clear()
        pending = self._pending.pop(sid, (0.0, []))[1] + session.pending_candidates
        session.pending_candidates = []
        for c in pending:
            await self._add_candidate(sid, c)
        loop = asyncio.get_running_loop()
        session.setup_timer = loop.call_later(
            SETUP_TIMEOUT_S, lambda: asyncio.ensure_future(self._setup_expired(sid)))
        return session

    async def _exec_spec(self, target, data: dict) -> policy.ExecSpec:
        """What to run, from policy; the offer may only pick among allowed shells, users, variables."""
        p, t = self.cfg.policy, self.cfg.targets
        spec = policy.exec_spec(p, default_cmd=t.shell, default_user=t.user, term=TERM,
                                shell=data.get("shell"), user=data.get("user"), env=data.get("env"))
        if target.kind == "host":
            return policy.ExecSpec(cmd=t.host_shell_command, user="", env=spec.env, shell_name="")
        if not spec.user and not p.allow_root:
            api = self.inventory.api
            if api is None:
                raise PortholeError(errors.EXEC_FAILED, "docker is not reachable")
            try:
                info = await asyncio.to_thread(api.inspect_container, target.container_id)
            except Exception as e:  # noqa: BLE001 - docker errors of any kind: the container is not usable
                raise PortholeError(errors.TARGET_NOT_FOUND, "container is gone") from e
            image_user = (info.get("Config") or {}).get("User") or ""
            if not image_user or policy.is_root(image_user):
                raise PortholeError(policy.ROOT_DENIED, "the image's default user is root, which is not allowed")
        return spec

    def _forget_old_grants(self) -> None:
        now = time.time()
        for sid in [s for s, until in self._used_grants.items() if until < now]:
            del self._used_grants[sid]

    async def _setup_expired(self, sid: str) -> None:
        s = self.sessions.get(sid)
        if s and s.terminal_task is None and not (isinstance(s, ScreenSession) and s.started):
            await self._error(sid, PortholeError(errors.ICE_FAILED, "no connection within the setup deadline"))
            await self.close_session(sid, "setup_timeout")

    async def _on_remote_ice(self, data: object) -> None:
        sid = data.get("session_id") if isinstance(data, dict) else None
        try:
            if not isinstance(sid, str) or not SESSION_ID_RE.match(sid):
                raise PortholeError(errors.BAD_REQUEST, "session_id missing or malformed")
            cand = _candidate_from_wire(data.get("candidate"))
        except PortholeError as e:
            await self._error(sid, e)
            return
        session = self.sessions.get(sid)
        self.events.publish("session.candidate", sid, side="remote", candidate=cand.candidate)
        if session is not None and session.created:
            await self._add_candidate(sid, cand)
        elif session is not None:
            if len(session.pending_candidates) < MAX_PENDING_CANDIDATES:
                session.pending_candidates.append(cand)
        else:
            self._queue_early(sid, cand)

    def _queue_early(self, sid: str, cand: pb.IceCandidate) -> None:
        now = time.monotonic()
        for k in [k for k, (t, _) in self._pending.items() if now - t > PENDING_TTL_S]:
            del self._pending[k]
        if sid not in self._pending and len(self._pending) >= MAX_PENDING_IDS:
            return
        _, queue = self._pending.setdefault(sid, (now, []))
        if len(queue) < MAX_PENDING_CANDIDATES:
            queue.append(cand)

    async def _add_candidate(self, sid: str, cand: pb.IceCandidate) -> None:
        try:
            stub = await self.sidecar.wait_ready(SIDECAR_WAIT_S)
            await stub.AddRemoteCandidate(pb.AddRemoteCandidateRequest(session_id=sid, candidate=cand),
                                          timeout=RPC_TIMEOUT_S)
        except grpc.aio.AioRpcError as e:
            log.info("candidate refused: %s", e.details(), extra={"session_id": sid})
            if e.code() == grpc.StatusCode.INVALID_ARGUMENT:
                await self._error(sid, PortholeError(errors.BAD_REQUEST, "malformed ICE candidate"))
        except PortholeError as e:
            await self._error(sid, e)

    async def _on_remote_disconnect(self, data: object) -> None:
        sid = data.get("session_id") if isinstance(data, dict) else None
        reason = data.get("reason") if isinstance(data, dict) else None
        if isinstance(sid, str) and sid in self.sessions:
            reason = reason if isinstance(reason, str) and len(reason) <= 64 else "client_gone"
            await self.close_session(sid, reason, notify=False)

    # ---------------------------------------------------------------- sidecar events

    async def _watch_events(self) -> None:
        while True:
            try:
                stub = await self.sidecar.wait_ready(float("inf"))
                call = stub.WatchEvents(pb.WatchEventsRequest())
                await call.initial_metadata()
                self._events_ready.set()
                async for ev in call:
                    await self._on_event(ev)
            except asyncio.CancelledError:
                raise
            except grpc.aio.AioRpcError as e:
                log.warning("sidecar event stream ended: %s", e.code().name)
            except Exception:
                log.exception("sidecar event handling failed")
            await asyncio.sleep(0.2)

    async def _on_event(self, ev: pb.SessionEvent) -> None:
        sid = ev.session_id
        session = self.sessions.get(sid)
        kind = ev.WhichOneof("event")
        if kind == "local_candidate":
            self.events.publish("session.candidate", sid, side="local", candidate=ev.local_candidate.candidate)
            if session is not None and not session.created:
                # The answer is not out yet; a browser refuses candidates before it.
                session.local_candidates.append(ev.local_candidate)
                return
            await self._emit("webrtc:ice", {"session_id": sid, "candidate": _candidate_to_wire(ev.local_candidate)})
        elif kind == "ice_state" and session:
            session.ice_state = ev.ice_state
            self.events.publish("session.state", sid, ice_state=ev.ice_state)
        elif kind == "peer_state" and session:
            session.peer_state = ev.peer_state
            self.events.publish("session.state", sid, peer_state=ev.peer_state)
            if isinstance(session, ScreenSession):
                session.on_peer_state(ev.peer_state)
        elif kind == "channel_opened" and session:
            if ev.channel_opened.label == "terminal" and session.terminal_task is None:
                if session.setup_timer:
                    session.setup_timer.cancel()
                session.terminal_task = asyncio.create_task(self._run_terminal(session), name=f"term-{sid}")
        elif kind == "closed" and session:
            reason = ev.closed.reason or "closed"
            if reason in ("ice_failed", "peer_failed"):
                await self._error(sid, PortholeError(errors.ICE_FAILED, ev.closed.message or reason))
            await self.close_session(sid, reason, in_sidecar=False)

    async def _run_terminal(self, session: Session) -> None:
        reason = "internal"
        try:
            stub = await self.sidecar.wait_ready(SIDECAR_WAIT_S)
            if self.cfg.recording.enabled:
                session.recorder_factory = lambda: self._recorder(session)
            reason, detail = await session.run_terminal(stub, self._make_pty(session))
            log.info("terminal ended: %s (%s)", reason, detail, extra={"session_id": session.id})
            if reason in (errors.EXEC_FAILED, errors.TARGET_NOT_FOUND, policy.ROOT_DENIED):
                await self._error(session.id, PortholeError(reason, detail))
        except PortholeError as e:
            reason = e.code
            await self._error(session.id, e)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("terminal bridge failed", extra={"session_id": session.id})
        if reason == "sidecar_error" and not self.sidecar.alive():
            # The stream broke because porthole-core died: every session on it ends as
            # sidecar_restarted, whichever notices first (this, or the supervisor).
            await self._on_sidecar_lost()
            return
        await self.close_session(session.id, reason)

    def _recorder(self, session: Session) -> recording.Recorder:
        g = session.grant
        return recording.Recorder(self.cfg.recording.dir, session.id, cols=session.cols, rows=session.rows,
                                  record_input=self.cfg.recording.input, term=TERM,
                                  title=f"{g.user}@{g.device_id}/{g.target_id} {session.id}")

    def _make_pty(self, session: Session) -> Pty:
        target, spec = session.target, session.spec
        assert spec is not None, "offer accepted without an exec spec"
        if target.kind == "host":
            return HostShell(list(spec.cmd), env=dict(spec.env), cols=session.cols, rows=session.rows)
        api = self.inventory.api
        if api is None:
            raise PortholeError(errors.EXEC_FAILED, "docker is not reachable")
        return DockerExec(api, self.cfg.targets.docker_socket, target.container_id, list(spec.cmd),
                          env=dict(spec.env), user=spec.user, cols=session.cols, rows=session.rows)

    # ---------------------------------------------------------------- closing

    async def close_session(self, sid: str, reason: str, *, notify: bool = True, in_sidecar: bool = True) -> None:
        """Ends a session for any reason: kill its processes, close the peer, tell the server."""
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        killed = await session.stop()
        if session.recorder is not None:
            path = session.recorder.close()
            if path is not None and self.uploader is not None:
                self.uploader.enqueue(path)
        if in_sidecar and session.created:
            await self._close_in_sidecar(sid, reason)
        if notify:
            await self._emit("webrtc:disconnect", {"session_id": sid, "reason": reason})
        self.events.publish("session.ended", sid, **session.audit_fields(), reason=reason,
                   duration_s=round(time.monotonic() - session.started_monotonic, 3),
                   bytes_in=session.bytes_from_peer, bytes_out=session.bytes_to_peer,
                   exit_code=session.exit_code, killed=killed)

    async def _close_in_sidecar(self, sid: str, reason: str) -> None:
        stub = self.sidecar.stub
        if stub is None:
            return
        with contextlib.suppress(grpc.aio.AioRpcError):
            await stub.CloseSession(pb.CloseSessionRequest(session_id=sid, reason=reason), timeout=RPC_TIMEOUT_S)

    async def _on_sidecar_lost(self) -> None:
        for sid in list(self.sessions):
            await self._error(sid, PortholeError(errors.SIDECAR_UNAVAILABLE, "WebRTC engine restarted"))
            await self.close_session(sid, "sidecar_restarted", in_sidecar=False)

    async def _inventory_loop(self) -> None:
        last = self.inventory.to_wire()
        while True:
            await asyncio.sleep(self.cfg.inventory_interval_s)
            await self.inventory.refresh()
            now = self.inventory.to_wire()
            if now != last and self.sio.connected:
                await self._emit("agent:inventory", {"targets": now})
            last = now

