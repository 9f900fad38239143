"""The terminal path of a session, once its `terminal` channel is open: start
the shell's process, hand its descriptor to porthole-core (handoff.py), which
pumps the bytes from then on, and wait until the process ends or the session
is ended by policy; then say so on the channel (EndTerminal). The agent
carries none of the terminal's bytes: control only (resize and the end come
as porthole-core events, applied by the session manager)."""

from __future__ import annotations

import asyncio
import logging

import grpc

from porthole import wire
from porthole.agent import recording_feed, ringmem
from porthole.agent.handoff import HandoffClient
from porthole.agent.session import Session
from porthole.agent.shell import Pty
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb
from porthole.rpc.v1 import sidecar_pb2_grpc

log = logging.getLogger("porthole.agent")

# EndTerminal waits, within its deadline, for room on the channel (a peer that
# reads slowly); past it the session is closed anyway.
END_TIMEOUT_S = 10.0


async def run_terminal(
    session: Session,
    stub: sidecar_pb2_grpc.SidecarStub,
    handoff: HandoffClient,
    pty: Pty,
    *,
    binary: bool,
    ring_bytes: int = 0,
) -> tuple[str, str]:
    """Starts the shell's process on pty and lets porthole-core pump it until it ends; returns (reason, detail)."""
    shell = session.shell
    assert shell is not None, "a terminal needs a shell"
    try:
        await shell.start(pty)
    except PortholeError as e:
        await end_terminal(stub, session.id, error=(e.code, e.message))
        return e.code, e.message
    session.events.publish(
        "session.started",
        session.id,
        **session.audit_fields(),
        pid=pty.pid,
        exec_id=shell.exec_id,
        binary=binary,
    )
    recorder = shell.start_recording()
    if ring_bytes and recorder is None:
        # The ring lives in our memfd, so that it outlives porthole-core (ringmem.py).
        shell.ring_fd = ringmem.create(ring_bytes)
    await handoff.hand_over(
        session.id,
        pty.descriptor(),
        pty.kind,
        preread=pty.preread,
        record=recorder is not None,
        record_input=recorder is not None and recorder.record_input,
        view_only=not shell.interactive,
        # A recorded terminal gets its ring too (viewers join from it, share.py), in porthole-core's
        # memory; it is never detached (detached.can_detach): its recording would not follow the shell.
        ring_bytes=ring_bytes,
        ring_fd=shell.ring_fd,
    )
    shell.handed_over.set()
    if recorder is not None:
        shell.recording_task = asyncio.create_task(
            recording_feed.feed(stub, session.id, recorder), name=f"rec-{session.id}"
        )
    return await wait_end(session, stub, pty)


async def wait_end(session: Session, stub: sidecar_pb2_grpc.SidecarStub, pty: Pty) -> tuple[str, str]:
    """Waits until the shell's process ends or the session is ended by policy; says so on the channel."""
    shell = session.shell
    assert shell is not None, "a terminal needs a shell"
    ended = asyncio.create_task(shell.ended.wait(), name=f"ended-{session.id}")
    ender = asyncio.create_task(session.end_requested.wait(), name=f"end-{session.id}")
    try:
        await asyncio.wait({ended, ender}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (ended, ender):
            t.cancel()
        await asyncio.gather(ended, ender, return_exceptions=True)
    if not shell.ended.is_set() and session.end_request is not None:
        # Ended by policy (timeout, expiry): say why on the channel; the close follows.
        code, message = session.end_request
        await end_terminal(stub, session.id, error=(code, message))
        return code, message
    shell.exit_code = await pty.exit_code()
    await end_terminal(stub, session.id, exit_code=-1 if shell.exit_code is None else shell.exit_code)
    return wire.EXIT, f"process exited with {shell.exit_code} ({shell.ended_detail or 'end of stream'})"


async def end_terminal(
    stub: sidecar_pb2_grpc.SidecarStub, session_id: str, *, exit_code: int = 0, error: tuple[str, str] | None = None
) -> None:
    """Tells the peer how the terminal ended: the rest of the output, then `error` alone, or `exit`."""
    req = pb.EndTerminalRequest(session_id=session_id, exit_code=exit_code, no_exit=error is not None)
    if error is not None:
        req.error.CopyFrom(pb.Error(code=error[0], message=error[1]))
    try:
        await stub.EndTerminal(req, timeout=END_TIMEOUT_S)
    except grpc.aio.AioRpcError as e:
        # The session closed meanwhile (the peer left), or porthole-core is gone.
        log.info("end of terminal not sent: %s", e.details() or e.code().name, extra={"session_id": session_id})
