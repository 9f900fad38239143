"""A screen session on the device: the sidecar captures, encodes and injects
input by itself, so the agent only creates it with the right options, marks it
started when the peer connects, and closes it like any other session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from porthole.agent.events import EventBus
from porthole.agent.inputaudit import RefusedInput
from porthole.agent.session import Session
from porthole.agent.targets import Target
from porthole.grant import Grant
from porthole.rpc.v1 import sidecar_pb2 as pb

KIND = "screen"


class ScreenSession(Session):
    """No shell: porthole-core captures and injects by itself. Never idle (see Session.last_activity):
    the idle timeout is about forgotten terminals; a screen ends with the page, max_session_s or the grant."""

    def __init__(
        self,
        session_id: str,
        grant: Grant,
        target: Target,
        events: EventBus | None = None,
        stub: Callable[[], Any] | None = None,
    ) -> None:
        assert target.screen is not None, "a screen session needs a screen target"
        super().__init__(session_id, grant, target, 0, 0, events)
        self.screen = target.screen
        self.started = False
        # A view-only session's input attempts, audited (inputaudit.py); stub: porthole-core's.
        self._refused_task: asyncio.Task | None = None
        if stub is not None and not self.allow_input:
            self.refused = RefusedInput(session_id, stub, self._input_denied)

    def _input_denied(self, **fields: object) -> None:
        self.events.publish("session.input_denied", self.id, ok=False, **self.audit_fields(), **fields)

    async def stop(self) -> int:
        if self._refused_task is not None:
            self._refused_task.cancel()
            await asyncio.gather(self._refused_task, return_exceptions=True)
            self._refused_task = None
            assert self.refused is not None
            await self.refused.finish()
        return await super().stop()

    @property
    def running(self) -> bool:
        return self.started

    @property
    def allow_input(self) -> bool:
        # Input only for an interactive grant; a view-only operator gets
        # input_not_allowed on the `input` channel for every event.
        return self.grant.mode == "interactive"

    @property
    def allow_clipboard_read(self) -> bool:
        # The display's clipboard may hold what its user copied but never showed (a password
        # from a manager): only an interactive grant gets it; writing needs input anyway.
        return self.grant.mode == "interactive"

    def create_request(self, sdp: str) -> pb.CreateSessionRequest:
        s = self.screen
        return pb.CreateSessionRequest(
            session_id=self.id,
            offer_sdp=sdp,
            kind=KIND,
            screen=pb.ScreenOptions(
                display=s.display,
                width=s.width,
                height=s.height,
                fps=s.fps,
                min_bitrate_kbps=s.min_bitrate_kbps,
                max_bitrate_kbps=s.max_bitrate_kbps,
                # A viewer of a shared screen gets the owner's handoff (screenshare.py): its XTest
                # connection is opened, its input refused until then.
                allow_input=self.allow_input or bool(self.join_of),
                input_held=bool(self.join_of),
                allow_clipboard_read=self.allow_clipboard_read,
            ),
        )

    def on_clipboard(self, c: pb.ClipboardTransfer) -> None:
        """porthole-core moved (or refused) clipboard text: audited by size, never content."""
        fields: dict[str, object] = {"direction": c.direction, "bytes": c.bytes}
        if c.code:
            fields.update(code=c.code, attempts=c.attempts)
        self.events.publish("session.clipboard", self.id, ok=not c.code, **self.audit_fields(), **fields)

    def on_peer_state(self, state: str) -> None:
        """The session starts when the peer connects (the video flows from then on)."""
        if state != "connected" or self.started:
            return
        self.started = True
        self.conn.cancel_setup()
        if self.refused is not None:
            self._refused_task = asyncio.create_task(self.refused.run(), name=f"refused-input-{self.id}")
        self.events.publish(
            "session.started", self.id, **self.audit_fields(), display=self.screen.display, allow_input=self.allow_input
        )
