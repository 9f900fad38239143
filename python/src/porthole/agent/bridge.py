"""The terminal bridge: moves bytes between a session's shell and porthole-core's
`Terminal` stream for its connection's `terminal` channel, until one side
ends. The only place where a shell meets a connection."""

from __future__ import annotations

import asyncio
import contextlib

import grpc

from porthole import wire
from porthole.agent.session import Session
from porthole.agent.shell import Pty, Shell
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb
from porthole.rpc.v1 import sidecar_pb2_grpc

# After the process exits and its exit code is sent, how long the sidecar gets
# to flush everything to the peer before the session is closed anyway.
FLUSH_TIMEOUT_S = 5.0
# Terminal error code telling the client that its input is ignored (non-fatal).
VIEW_ONLY = wire.VIEW_ONLY


async def run_terminal(session: Session, stub: sidecar_pb2_grpc.SidecarStub, pty: Pty) -> tuple[str, str]:
    """Starts the shell's process on pty and bridges it until one side ends; returns (reason, detail)."""
    shell = session.shell
    assert shell is not None, "a terminal bridge needs a shell"
    call = stub.Terminal()
    await call.write(pb.TerminalFromAgent(attach=pb.Attach(session_id=session.id)))
    first = await call.read()
    if first is grpc.aio.EOF or first.WhichOneof("frame") != "attached":
        return wire.PEER_CLOSED, "terminal channel closed before it was bridged"
    try:
        await shell.start(pty)
    except PortholeError as e:
        await _send_quietly(call, pb.TerminalFromAgent(error=pb.Error(code=e.code, message=e.message)))
        await _finish(call)
        return e.code, e.message
    session.events.publish(
        "session.started",
        session.id,
        **session.audit_fields(),
        pid=pty.pid,
        exec_id=shell.exec_id,
        binary=first.attached.binary,
    )
    shell.start_recording()
    write_lock = asyncio.Lock()  # one frame at a time on the Terminal stream

    async def send(frame: pb.TerminalFromAgent) -> None:
        async with write_lock:
            await call.write(frame)

    if not shell.interactive:
        await send(
            pb.TerminalFromAgent(
                error=pb.Error(code=VIEW_ONLY, message="view-only session: output only, input is ignored")
            )
        )
    output = asyncio.create_task(_pump_output(shell, send), name=f"out-{session.id}")
    inp = asyncio.create_task(_pump_input(session, shell, call), name=f"in-{session.id}")
    ender = asyncio.create_task(session.end_requested.wait(), name=f"end-{session.id}")
    try:
        done, _ = await asyncio.wait({output, inp, ender}, return_when=asyncio.FIRST_COMPLETED)
        if ender in done and output not in done and inp not in done and session.end_request:
            # Ended by policy (timeout, expiry): say why on the channel, then let it drain.
            code, message = session.end_request
            output.cancel()
            await asyncio.gather(output, return_exceptions=True)
            await _send_quietly(call, pb.TerminalFromAgent(error=pb.Error(code=code, message=message)))
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                await call.done_writing()
            await asyncio.wait({inp}, timeout=FLUSH_TIMEOUT_S)
            return code, message
        if output in done:
            if output.exception() is not None:
                return wire.SIDECAR_ERROR, f"terminal stream failed: {output.exception()}"
            # Half-close; the sidecar flushes output and exit to the peer, then ends
            # the stream, which the input pump (the only reader) sees as EOF.
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                await call.done_writing()
            await asyncio.wait({inp}, timeout=FLUSH_TIMEOUT_S)
            return wire.EXIT, f"process exited with {output.result()}"
        if inp.exception() is not None:
            return wire.SIDECAR_ERROR, f"terminal stream failed: {inp.exception()}"
        return inp.result()
    finally:
        for t in (output, inp, ender):
            t.cancel()
        await asyncio.gather(output, inp, ender, return_exceptions=True)
        call.cancel()


async def _pump_output(shell: Shell, send) -> int | None:
    while data := await shell.read():
        await send(pb.TerminalFromAgent(output=data))
    code = shell.exit_code if shell.exit_code is not None else -1
    await send(pb.TerminalFromAgent(exit=pb.Exit(code=code)))
    return shell.exit_code


async def _pump_input(session: Session, shell: Shell, call) -> tuple[str, str]:
    while True:
        frame = await call.read()
        if frame is grpc.aio.EOF:
            return wire.PEER_CLOSED, "terminal stream ended"
        kind = frame.WhichOneof("frame")
        if kind == "input":
            # Dropped (told once at the start, VIEW_ONLY) when the grant is view-only.
            await shell.write(frame.input)
        elif kind == "resize":
            await shell.resize(frame.resize.cols, frame.resize.rows)
            session.events.publish("session.resized", session.id, cols=shell.cols, rows=shell.rows)
        elif kind == "close":
            return wire.PEER_CLOSED, frame.close.reason or "peer closed the terminal"


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
