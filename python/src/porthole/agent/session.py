"""One session on the device: the grant it was opened with, its target and
exec policy, and its two halves — the shell (shell.py: the process, its
recorder, idle clock and exit code) and the connection (connection.py: the
peer connection and its channels). bridge.py starts the shell and hands its
descriptor to porthole-core, which pumps it to the connection."""

from __future__ import annotations

import asyncio
import time

from porthole.agent import policy
from porthole.agent.connection import Connection
from porthole.agent.events import EventBus
from porthole.agent.inputaudit import RefusedInput
from porthole.agent.shell import Shell
from porthole.agent.targets import Target
from porthole.agent.views import SessionSnapshot
from porthole.grant import Grant

# The terminal channel must open this long after the answer, or the session is
# dropped (ICE that never completes, a client that vanished mid-setup).
SETUP_TIMEOUT_S = 45.0


class Session:
    """A terminal session: a shell and the connection it is bridged to."""

    def __init__(
        self,
        session_id: str,
        grant: Grant,
        target: Target,
        cols: int,
        rows: int,
        events: EventBus | None = None,
        *,
        spec: policy.ExecSpec | None = None,
        forbid_root: bool = False,
    ) -> None:
        self.id = session_id
        self.events = events or EventBus()
        self.grant = grant
        self.target = target
        self.spec = spec  # policy.ExecSpec: command, user, environment (None for a screen)
        self.started_monotonic = time.monotonic()
        self.started_wall = time.time()
        self.conn = Connection()
        # A screen session (screen.py) has none: porthole-core captures and injects by itself.
        self.shell: Shell | None = (
            Shell(session_id, cols, rows, interactive=grant.mode == "interactive", forbid_root=forbid_root)
            if grant.kind != "screen"
            else None
        )
        # Resume (agent/resume.py): the detached session this one takes the shell of, and
        # while this one is detached, when its grace runs out.
        self.resume_from = ""
        self.detached = False
        self.detach_timer: asyncio.TimerHandle | None = None
        # Shared terminals (share.py): for a viewer, the session it watches; for an owner, its
        # viewers (session id → user), the one with control ("": the owner) and when it last
        # revoked its invitations (Unix seconds; tokens signed until then are refused).
        self.join_of = ""
        self.join_issued_at = 0
        self.viewers: dict[str, str] = {}
        self.controller = ""
        self.share_revoked_at = 0
        # Refused input, audited (inputaudit.py): a view-only screen's or a viewer's of a shared
        # terminal (screen.py, share.py); its total goes in `session.ended` (`input_refused`).
        self.refused: RefusedInput | None = None
        # An owner's own keys while a viewer has control: refused, audited (ownerinput.py).
        self.owner_refused: RefusedInput | None = None
        self.owner_refused_task: asyncio.Task | None = None
        self.end_request: tuple[str, str] | None = None  # (code, message) asked by the watchdog
        self.end_requested = asyncio.Event()

    @property
    def running(self) -> bool:
        """The session got past its setup (for a terminal: the channel opened)."""
        return self.conn.terminal_task is not None

    @property
    def last_activity(self) -> float:
        """Input or output (as porthole-core last reported it); the idle timeout counts from here.
        A session without a shell is never idle."""
        return self.shell.last_activity if self.shell is not None else time.monotonic()

    def audit_fields(self) -> dict[str, object]:
        g = self.grant
        out: dict[str, object] = {
            "user": g.user,
            "org": g.org,
            "device": g.device_id,
            "target": g.target_id,
            "kind": g.kind,
            "mode": g.mode,
            "started_at": round(self.started_wall, 3),
        }
        if self.spec is not None:
            out.update(exec_user=self.spec.user or "(image default)", shell=self.spec.shell_name or "(default)")
        if self.shell is not None and self.shell.input_dropped:
            out["input_dropped"] = self.shell.input_dropped
        refused = sum(r.total for r in (self.refused, self.owner_refused) if r is not None)
        if refused:
            out["input_refused"] = refused
        return out

    def request_end(self, code: str, message: str) -> None:
        """Asks the session to end with this reason (a running terminal tells the client on the channel)."""
        if self.end_request is None:
            self.end_request = (code, message)
            self.end_requested.set()

    async def stop(self) -> int:
        """Stops the connection's bridge (unless we are inside it), then kills the shell's processes."""
        await self.conn.stop()
        return await self.shell.kill() if self.shell is not None else 0

    def snapshot(self) -> SessionSnapshot:
        g, t, sh, c = self.grant, self.target, self.shell, self.conn
        pty = sh.pty if sh is not None else None
        return SessionSnapshot(
            id=self.id,
            grant=g,
            target_kind=t.kind,
            container_id=t.container_id or "",
            started_monotonic=self.started_monotonic,
            started_wall=self.started_wall,
            last_activity=self.last_activity,
            ending=self.end_request is not None,
            created=c.created,
            has_process=pty is not None,
            ice_state=c.ice_state,
            peer_state=c.peer_state,
            exec_id=(sh.exec_id or "") if sh is not None else "",
            pid=(pty.pid or 0) if pty is not None else 0,
            cols=sh.cols if sh is not None else 0,
            rows=sh.rows if sh is not None else 0,
            bytes_from_peer=sh.bytes_from_peer if sh is not None else 0,
            bytes_to_peer=sh.bytes_to_peer if sh is not None else 0,
            detached=self.detached,
        )
