"""Input a view-only screen session tried to send, in the audit (issue 14, 8).

porthole-core refuses every `input` message of a view-only screen session
(input_not_allowed) and counts them (ScreenStats.input_errors). A viewer moving
the mouse sends dozens a second, so the audit gets no record per message:
`session.input_denied` comes within POLL_S of the first attempt, then at most
one per RECORD_GAP_S with the attempts since the last record, and the
session's `session.ended` carries the total (`input_refused`).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from typing import Any

import grpc

from porthole import wire
from porthole.rpc.v1 import sidecar_pb2 as pb

POLL_S = 2.0
RECORD_GAP_S = 10.0
STATS_TIMEOUT_S = 2.0


class RefusedInput:
    """Polls one session's refused input from porthole-core and publishes it, rate limited."""

    def __init__(self, session_id: str, stub: Callable[[], Any], publish: Callable[..., None]) -> None:
        self._sid = session_id
        self._stub = stub  # porthole-core's gRPC stub, None while it is down
        self._publish = publish  # publish(attempts=..., total=..., code=...)
        self.total = 0
        self._reported = 0
        self._last_record = -math.inf

    async def poll(self) -> None:
        stub = self._stub()
        if stub is None:
            return
        with contextlib.suppress(grpc.aio.AioRpcError):
            resp = await stub.GetStats(pb.GetStatsRequest(session_id=self._sid), timeout=STATS_TIMEOUT_S)
            for s in resp.sessions:
                if s.session_id == self._sid and s.HasField("screen"):
                    self.total = max(self.total, s.screen.input_errors)
                elif s.session_id == self._sid and s.HasField("terminal"):  # a viewer of a shared terminal
                    self.total = max(self.total, s.terminal.input_refused)

    def record(self, now: float, final: bool = False) -> None:
        """Publishes the attempts not yet recorded, unless the last record is less than RECORD_GAP_S old."""
        if self.total > self._reported and (final or now - self._last_record >= RECORD_GAP_S):
            self._publish(attempts=self.total - self._reported, total=self.total, code=wire.INPUT_NOT_ALLOWED)
            self._reported, self._last_record = self.total, now

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            await self.poll()
            self.record(time.monotonic())

    async def finish(self) -> None:
        """At the session's end, before porthole-core closes it: the last count, recorded whatever the gap."""
        await self.poll()
        self.record(time.monotonic(), final=True)
