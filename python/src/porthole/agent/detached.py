"""Detached shells and their resume (docs/protocol.md §2e).

When a terminal's connection is lost (the peer closed or failed, ICE failed
past porthole-core's wait, the tab closed, porthole-core died), its shell is
kept detached for `[agent] resume_grace_s` instead of killed: porthole-core
keeps reading its descriptor into a scrollback ring (SessionClosed.
terminal_detached), the session stays in the registry (it counts toward the
limit and shows as `detached` in `porthole ctl sessions`) and its terminal
task keeps waiting for the process. A new session whose offer carries a
valid resume token takes the shell back (`take_back`): porthole-core moves
the pump to it (AttachTerminal: the ring replayed, then live bytes), or, when
porthole-core restarted meanwhile and has no pump, the agent hands its own
duplicate of the descriptor over again; then the program on it is made to
redraw (`redraw`). The grace running out kills the shell (`detached_timeout`).

A recorded session is never detached: its recording would not follow the shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import grpc

from porthole import wire
from porthole.agent import share
from porthole.agent.session import Session
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

if TYPE_CHECKING:
    from porthole.agent.sessions import SessionManager
    from porthole.agent.shell import Shell

log = logging.getLogger("porthole.agent")

RPC_TIMEOUT_S = 10.0


def can_detach(mgr: SessionManager, s: Session) -> bool:
    sh = s.shell
    return (
        mgr.resume_grace_s > 0
        and sh is not None
        and sh.pty is not None
        and sh.recorder is None
        and not sh.ended.is_set()
        and s.end_request is None
        and not s.detached
    )


def detach(mgr: SessionManager, s: Session, reason: str) -> None:
    """Keeps the shell of s for a resume; the grace timer kills it."""
    s.detached = True
    s.conn.cancel_setup()
    loop = asyncio.get_running_loop()
    s.detach_timer = loop.call_later(mgr.resume_grace_s, lambda: mgr.spawn(mgr.close(s.id, wire.DETACHED_TIMEOUT)))
    log.info("terminal detached (%s); kept %.0f s for a resume", reason, mgr.resume_grace_s, extra={"session_id": s.id})
    s.events.publish(
        "session.detached",
        s.id,
        **s.audit_fields(),
        reason=reason,
        grace_s=mgr.resume_grace_s,
        pid=s.shell.pty.pid if s.shell is not None and s.shell.pty is not None else None,
    )


async def take_back(mgr: SessionManager, new: Session, old_id: str) -> None:
    """The shell of the detached session old_id goes on in new; old_id ends as `resumed`."""
    old = mgr.session(old_id)
    if old is None or not old.detached or old.shell is None or old.shell.pty is None:
        raise PortholeError(wire.RESUME_NOT_FOUND, "the detached shell ended meanwhile")
    stub = await mgr.sidecar.wait_ready(RPC_TIMEOUT_S)
    shell, pty = old.shell, old.shell.pty
    try:
        await stub.AttachTerminal(
            pb.AttachTerminalRequest(from_session_id=old_id, to_session_id=new.id), timeout=RPC_TIMEOUT_S
        )
        how = "ring"
    except grpc.aio.AioRpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise PortholeError(wire.RESUME_NOT_FOUND, f"porthole-core refused the resume: {e.details()}") from e
        # porthole-core restarted since the detach: hand our own copy of the descriptor over again.
        await mgr.handoff.hand_over(
            new.id,
            pty.descriptor(),
            pty.kind,
            view_only=not shell.interactive,
            ring_bytes=mgr.scrollback_bytes,
            ring_fd=shell.ring_fd,  # the ring from before the restart goes on (ringmem.py)
        )
        how = "descriptor"
    # From here the shell is the new session's: the old one lets go of it without killing it.
    shell.handed_over.set()  # pumped again (the ring moved, or the descriptor handed over anew)
    if old.detach_timer is not None:
        old.detach_timer.cancel()
    old.shell = None
    old.detached = False
    share.carry_over(mgr, old, new)  # its viewers watch on (porthole-core moved them with the pump)
    await mgr.close(old_id, wire.RESUMED, in_sidecar=False)
    shell.session_id = new.id
    new.shell = shell
    # The shell's age goes on: a resume does not restart [policy] max_session_s.
    new.started_monotonic, new.started_wall = old.started_monotonic, old.started_wall
    log.info("terminal resumed from %s (%s)", old_id, how, extra={"session_id": new.id})
    new.events.publish(
        "session.resumed",
        new.id,
        **new.audit_fields(),
        resumed_from=old_id,
        pid=pty.pid,
        replay=how,
    )
    with contextlib.suppress(PortholeError):
        await redraw(shell)


async def redraw(shell: Shell) -> None:
    """Makes the program on a resumed terminal draw its screen again, as dtach and abduco do on
    attach: the ring may no longer hold its last full draw (a 1 MiB ring wraps, something
    printed over it), and a resize to the same size sends it no SIGWINCH. So the terminal is
    made one row shorter, then given its size back: two real changes, each a SIGWINCH to the
    foreground program (vi, top and a shell's line editor redraw on it). The second step
    reads the shell's size then, so a resize from the new peer meanwhile is kept."""
    assert shell.pty is not None
    await shell.pty.resize(shell.cols, shell.rows - 1 if shell.rows > 1 else shell.rows + 1)
    await shell.resize(shell.cols, shell.rows)
