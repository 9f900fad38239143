"""Control of a shared screen handed to a viewer and taken back (docs/protocol.md §2f).

A viewer of a shared screen is a screen session of its own (its own capture and
encoder) created with an XTest connection whose input porthole-core refuses
(`input_held`, input_not_allowed) until the owner hands it control. Control moves
with SetScreenInput: the session that gets it has its input allowed, every other
participant's (the owner's too) refused, their held keys and buttons released. Only
an owner whose own grant allows input can hand it over. The bookkeeping (who has
control, the audit, `share:state`) is share.py's, as for a terminal.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import grpc

from porthole import wire
from porthole.agent.screen import ScreenSession
from porthole.agent.session import Session
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

if TYPE_CHECKING:
    from porthole.agent.sessions import SessionManager

RPC_TIMEOUT_S = 10.0


def is_screen(s: Session) -> bool:
    return isinstance(s, ScreenSession)


async def _held(mgr: SessionManager, sid: str, held: bool) -> None:
    stub = await mgr.sidecar.wait_ready(RPC_TIMEOUT_S)
    try:
        await stub.SetScreenInput(pb.SetScreenInputRequest(session_id=sid, held=held), timeout=RPC_TIMEOUT_S)
    except grpc.aio.AioRpcError as e:
        raise PortholeError(wire.SHARE_NOT_FOUND, f"porthole-core refused: {e.details()}") from e


async def hand_over(mgr: SessionManager, owner: ScreenSession, to: str) -> None:
    """Input of the shared screen to viewer `to`, or back to the owner ("")."""
    if not owner.allow_input:
        raise PortholeError(wire.INPUT_NOT_ALLOWED, "this screen session is view-only: it has no control to hand over")
    if to and to not in owner.viewers:
        raise PortholeError(wire.NOT_A_VIEWER, "that session does not watch this one")
    # Everyone else's input refused first, then the new controller's allowed: never two at once.
    prev = owner.controller if owner.controller and mgr.session(owner.controller) is not None else ""
    if prev and prev != to:
        await _held(mgr, prev, True)
    if to:
        await _held(mgr, owner.id, True)
        try:
            await _held(mgr, to, False)
        except PortholeError:
            # `to` went meanwhile: the input goes back to whoever had it, as share.py still says.
            with contextlib.suppress(PortholeError):
                await _held(mgr, prev or owner.id, False)
            raise
    else:
        await _held(mgr, owner.id, False)


async def give_back(mgr: SessionManager, owner: Session) -> None:
    """The controlling viewer left: the owner's input is allowed again."""
    with contextlib.suppress(PortholeError):  # the owner's session may be going too
        await _held(mgr, owner.id, False)
