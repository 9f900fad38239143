"""The owner's keys while a viewer has control of its shared terminal (docs/protocol.md §2f).

porthole-core drops the input of every participant without control, the owner's too
once it handed control to a viewer, and counts it on the owner's session
(TerminalActivity.input_refused). While a viewer has control this polls that count and
audits it as for a viewer without control: `session.input_denied` of the owner's
session (`controller`: the viewer's session), rate limited by inputaudit.py. The count
is porthole-core's total for the session, so one RefusedInput per owner session spans
every handoff; the poll runs only while a viewer has control, and the attempts not yet
recorded are recorded when control comes back (or the owner's session ends).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from porthole.agent.inputaudit import RefusedInput
from porthole.agent.session import Session

if TYPE_CHECKING:
    from porthole.agent.sessions import SessionManager


def watch(mgr: SessionManager, owner: Session) -> None:
    """A viewer has control: poll the owner's refused keys until `stop`."""
    if owner.owner_refused is None:
        owner.owner_refused = RefusedInput(owner.id, lambda: mgr.sidecar.stub, lambda **f: _denied(owner, **f))
    if owner.owner_refused_task is None:
        owner.owner_refused_task = asyncio.create_task(owner.owner_refused.run(), name=f"owner-input-{owner.id}")


async def stop(owner: Session) -> None:
    """Control is the owner's again (or its session ends): the last attempts recorded, whatever the gap."""
    task, owner.owner_refused_task = owner.owner_refused_task, None
    if task is None or owner.owner_refused is None:
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    with contextlib.suppress(Exception):
        await owner.owner_refused.finish()


def stop_now(owner: Session) -> None:
    """A resume moved the shell to a new session: the old one's last polled count recorded."""
    task, owner.owner_refused_task = owner.owner_refused_task, None
    if task is not None and owner.owner_refused is not None:
        task.cancel()
        owner.owner_refused.record(0.0, final=True)


def _denied(owner: Session, **fields: Any) -> None:
    owner.events.publish(
        "session.input_denied",
        owner.id,
        ok=False,
        **owner.audit_fields(),
        owner_session=owner.id,
        controller=owner.controller,
        **fields,
    )
