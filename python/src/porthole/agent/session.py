"""One terminal session on the device: the grant it was opened with, its PTY,
and the byte bridge between the PTY and the sidecar's Terminal stream."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import grpc

from porthole import errors
from porthole.agent import policy
from porthole.agent.events import EventBus
from porthole.errors import PortholeError
from porthole.grant import Grant
from porthole.rpc.v1 import sidecar_pb2 as pb
from porthole.rpc.v1 import sidecar_pb2_grpc
from porthole.agent.targets import Target

log = logging.getLogger("porthole.agent.session")

# Candidates a client may send before its offer has been accepted; a real
# browser sends a handful, so more than this is abuse, not trickle.
MAX_PENDING_CANDIDATES = 64
# The terminal channel must open this long after the answer, or the session is
# dropped (ICE that never completes, a client that vanished mid-setup).
SETUP_TIMEOUT_S = 45.0
# After the process exits and its exit code is sent, how long the sidecar gets
# to flush everything to the peer before the session is closed anyway.
FLUSH_TIMEOUT_S = 5.0
# Terminal error code telling the client that its input is ignored (non-fatal).
VIEW_ONLY = "view_only"


class Pty(Protocol):
    pid: int | None

    async def start(self) -> None: ...
    async def read(self) -> bytes: ...
    async def write(self, data: bytes) -> None: ...
    async def resize(self, cols: int, rows: int) -> None: ...
    async def exit_code(self) -> int | None: ...
    async def kill(self) -> int: ...


class Session:
    def __init__(self, session_id: str, grant: Grant, target: Target, cols: int, rows: int,
                 events: EventBus | None = None) -> None:
        self.id = session_id
        self.events = events or EventBus()
        self.grant = grant
        self.target = target
        self.cols, self.rows = cols, rows
        self.created = False  # the sidecar has the peer connection
        self.pending_candidates: list[pb.IceCandidate] = []  # remote, before the peer connection exists
        self.local_candidates: list[pb.IceCandidate] = []  # ours, before the answer went out
        self.pty: Pty | None = None
        self.exec_id: str | None = None
        self.ice_state = "new"
        self.peer_state = "new"
        self.started_monotonic = time.monotonic()
        self.started_wall = time.time()
        self.bytes_from_peer = 0
        self.bytes_to_peer = 0
        self.input_dropped = 0  # bytes of input refused in a view-only session
        self.exit_code: int | None = None
        self.terminal_task: asyncio.Task | None = None
        self.setup_timer: asyncio.TimerHandle | None = None
        self._view_only_warned = False
        # Policy (set by the agent before the terminal starts; see agent/policy.py).
        self.spec = None  # policy.ExecSpec: command, user, environment
        self.forbid_root = False  # kill and refuse an exec that runs as uid 0 anyway
        self.recorder = None  # recording.Recorder, when the policy records this session
        self.recorder_factory = None  # makes it once the exec runs
        self.last_activity = time.monotonic()  # input or output; the idle timeout counts from here
        self.end_request: tuple[str, str] | None = None  # (code, message) asked by the watchdog
        self._end_event = asyncio.Event()
        self._write_lock = asyncio.Lock()  # one frame at a time on the Terminal stream

    def audit_fields(self) -> dict[str, object]:
        g = self.grant
        out: dict[str, object] = {"user": g.user, "org": g.org, "device": g.device_id,
                                  "target": g.target_id, "kind": g.kind, "mode": g.mode,
                                  "started_at": round(self.started_wall, 3)}
        if self.spec is not None:
            out.update(exec_user=self.spec.user or "(image default)", shell=self.spec.shell_name or "(default)")
        if self.input_dropped:
            out["input_dropped"] = self.input_dropped
        return out

    async def run_terminal(self, stub: sidecar_pb2_grpc.SidecarStub, pty: Pty) -> tuple[str, str]:
        """Bridges the PTY and the sidecar until one side ends; returns (reason, detail)."""
        call = stub.Terminal()
        await call.write(pb.TerminalFromAgent(attach=pb.Attach(session_id=self.id)))
        first = await call.read()
        if first is grpc.aio.EOF or first.WhichOneof("frame") != "attached":
            return "peer_closed", "terminal channel closed before it was bridged"
        # Registered before it starts: a session torn down while the exec is
        # still starting must still kill it (stop() calls pty.kill()).
        self.pty = pty
        try:
            await pty.start()
            self.exec_id = getattr(pty, "exec_id", None)
            if self.forbid_root and pty.pid and policy.proc_uid(pty.pid) == 0:
                # targets.user named a user that is uid 0 in this image.
                raise PortholeError(policy.ROOT_DENIED, "the exec would run as root, which is not allowed")
        except PortholeError as e:
            await _send_quietly(call, pb.TerminalFromAgent(error=pb.Error(code=e.code, message=e.message)))
            await _finish(call)
            return e.code, e.message
        self.events.publish("session.started", self.id, **self.audit_fields(), pid=pty.pid, exec_id=self.exec_id,
                            binary=first.attached.binary)
        if self.recorder_factory is not None:
            try:
                self.recorder = self.recorder_factory()
            except OSError as e:
                log.error("cannot record session: %s", e.strerror, extra={"session_id": self.id})
        if self.grant.mode != "interactive":
            self._view_only_warned = True
            await self._send(call, pb.TerminalFromAgent(
                error=pb.Error(code=VIEW_ONLY, message="view-only session: output only, input is ignored")))
        output = asyncio.create_task(self._pump_output(call, pty), name=f"out-{self.id}")
        inp = asyncio.create_task(self._pump_input(call, pty), name=f"in-{self.id}")
        ender = asyncio.create_task(self._end_event.wait(), name=f"end-{self.id}")
        try:
            done, _ = await asyncio.wait({output, inp, ender}, return_when=asyncio.FIRST_COMPLETED)
            if ender in done and output not in done and inp not in done and self.end_request:
                # Ended by policy (timeout, expiry): say why on the channel, then let it drain.
                code, message = self.end_request
                output.cancel()
                await asyncio.gather(output, return_exceptions=True)
                await _send_quietly(call, pb.TerminalFromAgent(error=pb.Error(code=code, message=message)))
                with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                    await call.done_writing()
                await asyncio.wait({inp}, timeout=FLUSH_TIMEOUT_S)
                return code, message
            if output in done:
                if output.exception() is not None:
                    return "sidecar_error", f"terminal stream failed: {output.exception()}"
                # Half-close; the sidecar flushes output and exit to the peer, then ends
                # the stream, which the input pump (the only reader) sees as EOF.
                with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                    await call.done_writing()
                await asyncio.wait({inp}, timeout=FLUSH_TIMEOUT_S)
                return "exit", f"process exited with {output.result()}"
            if inp.exception() is not None:
                return "sidecar_error", f"terminal stream failed: {inp.exception()}"
            return inp.result()
        finally:
            for t in (output, inp, ender):
                t.cancel()
            await asyncio.gather(output, inp, ender, return_exceptions=True)
            call.cancel()

    def request_end(self, code: str, message: str) -> None:
        """Asks a running terminal to end with this reason (the client is told on the channel)."""
        if self.end_request is None:
            self.end_request = (code, message)
            self._end_event.set()

    async def _send(self, call, frame: pb.TerminalFromAgent) -> None:
        async with self._write_lock:
            await call.write(frame)

    async def _pump_output(self, call, pty: Pty) -> int | None:
        while data := await pty.read():
            self.bytes_to_peer += len(data)
            self.last_activity = time.monotonic()
            if self.recorder is not None:
                self.recorder.output(data)
            await self._send(call, pb.TerminalFromAgent(output=data))
        self.exit_code = await pty.exit_code()
        code = self.exit_code if self.exit_code is not None else -1
        await self._send(call, pb.TerminalFromAgent(exit=pb.Exit(code=code)))
        return self.exit_code

    async def _pump_input(self, call, pty: Pty) -> tuple[str, str]:
        while True:
            frame = await call.read()
            if frame is grpc.aio.EOF:
                return "peer_closed", "terminal stream ended"
            kind = frame.WhichOneof("frame")
            if kind == "input":
                if self.grant.mode != "interactive":
                    # Told once at the start (VIEW_ONLY); input is dropped, never written.
                    self.input_dropped += len(frame.input)
                    continue
                self.bytes_from_peer += len(frame.input)
                self.last_activity = time.monotonic()
                if self.recorder is not None:
                    self.recorder.input(frame.input)
                await pty.write(frame.input)
            elif kind == "resize":
                self.cols, self.rows = frame.resize.cols, frame.resize.rows
                await pty.resize(self.cols, self.rows)
                if self.recorder is not None:
                    self.recorder.resize(self.cols, self.rows)
                self.events.publish("session.resized", self.id, cols=self.cols, rows=self.rows)
            elif kind == "close":
                return "peer_closed", frame.close.reason or "peer closed the terminal"

    async def stop(self) -> int:
        """Stops the bridge (unless we are inside it) and kills the PTY's processes."""
        if self.setup_timer:
            self.setup_timer.cancel()
        task = self.terminal_task
        if task and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        killed = 0
        if self.pty is not None:
            killed = await self.pty.kill()
        return killed


async def _send_quietly(call, frame: pb.TerminalFromAgent) -> None:
    with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
        await call.write(frame)


async def _finish(call) -> None:
    """Half-closes our side and waits (bounded) until the sidecar has flushed and ended the stream."""
    with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
        await call.done_writing()
    with contextlib.suppress(grpc.aio.AioRpcError, TimeoutError, asyncio.InvalidStateError):
        async with asyncio.timeout(FLUSH_TIMEOUT_S):
            while await call.read() is not grpc.aio.EOF:
                pass


PtyFactory = Callable[[Session], Awaitable[Pty]]
