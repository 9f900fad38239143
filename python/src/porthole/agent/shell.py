"""The shell of a terminal session: the process in its PTY (a docker exec or a
host shell), its recorder, its idle clock, its byte counts and its exit code.

It knows nothing of peers and carries none of its bytes: once the process runs,
bridge.py hands its descriptor to porthole-core, which pumps it to the
connection's `terminal` channel. The shell keeps its own copy of the
descriptor (closed by kill()); porthole-core reports what crossed
(apply_activity) and when the stream ended (`ended`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from porthole.agent import policy
from porthole.agent.recording import Recorder
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

log = logging.getLogger("porthole.agent.session")

# TERM of every shell (and the recording's header): what xterm.js in the page emulates.
TERM = "xterm-256color"


class Pty(Protocol):
    pid: int | None
    kind: str  # what its descriptor is: handoff.KIND_SOCKET or handoff.KIND_PTY
    preread: bytes  # output read before the handoff (past Docker's HTTP answer)

    async def start(self) -> None: ...
    def descriptor(self) -> int: ...
    async def resize(self, cols: int, rows: int) -> None: ...
    async def exit_code(self) -> int | None: ...
    async def kill(self) -> int: ...
    def close(self) -> None: ...


class Shell:
    def __init__(self, session_id: str, cols: int, rows: int, *, interactive: bool, forbid_root: bool = False) -> None:
        self.session_id = session_id
        self.cols, self.rows = cols, rows
        self.interactive = interactive  # a view-only grant: porthole-core drops the input
        self.forbid_root = forbid_root  # kill and refuse an exec that runs as uid 0 anyway
        self.pty: Pty | None = None
        self.exec_id: str | None = None
        self.exit_code: int | None = None
        self.recorder: Recorder | None = None  # when the policy records this session
        self.recorder_factory: Callable[[], Recorder] | None = None  # makes it once the process runs
        self.recording_task: asyncio.Task | None = None  # recording_feed.feed, ends after the session closed
        self.last_activity = time.monotonic()  # input or output; the idle timeout counts from here
        self.bytes_from_peer = 0  # as porthole-core counted them (apply_activity)
        self.bytes_to_peer = 0
        self.input_dropped = 0  # bytes of input refused in a view-only session
        self.ended = asyncio.Event()  # porthole-core saw the descriptor end (the process exited)
        self.handed_over = asyncio.Event()  # porthole-core pumps it (a viewer may join: share.py)
        self.ended_detail = ""
        self.ring_fd: int | None = None  # the memfd of its scrollback ring, when resumable (ringmem.py)

    async def start(self, pty: Pty) -> None:
        """Starts the process; raises PortholeError (exec_failed, root_denied, ...) when it cannot run."""
        # Registered before it starts: a session torn down while the exec is
        # still starting must still kill it (kill() calls pty.kill()).
        self.pty = pty
        await pty.start()
        self.exec_id = getattr(pty, "exec_id", None)
        if self.forbid_root and pty.pid and policy.proc_uid(pty.pid) == 0:
            # targets.user named a user that is uid 0 in this image.
            raise PortholeError(policy.ROOT_DENIED, "the exec would run as root, which is not allowed")

    def start_recording(self) -> Recorder | None:
        if self.recorder_factory is None:
            return None
        try:
            self.recorder = self.recorder_factory()
        except OSError as e:
            log.error("cannot record session: %s", e.strerror, extra={"session_id": self.session_id})
        return self.recorder

    def apply_activity(self, act: pb.TerminalActivity) -> None:
        """What porthole-core saw cross the terminal channel (SessionStats.terminal)."""
        if self.interactive:
            self.bytes_from_peer = act.input_bytes
            last = max(act.last_input_unix_micros, act.last_output_unix_micros)
        else:  # dropped input is no activity either
            self.input_dropped = act.input_bytes
            last = act.last_output_unix_micros
        self.bytes_to_peer = act.output_bytes
        if last:
            # Wall clock (porthole-core's) to our monotonic clock.
            mono = time.monotonic() - (time.time() - last / 1e6)
            self.last_activity = max(self.last_activity, mono)

    async def resize(self, cols: int, rows: int, at: float | None = None) -> None:
        assert self.pty is not None
        self.cols, self.rows = cols, rows
        await self.pty.resize(cols, rows)
        if self.recorder is not None:
            self.recorder.resize(cols, rows, at)

    async def kill(self) -> int:
        """Kills every process of the shell and closes our descriptors; how many processes there were."""
        try:
            return await self.pty.kill() if self.pty is not None else 0
        finally:
            if self.ring_fd is not None:
                os.close(self.ring_fd)
                self.ring_fd = None

    async def close_recording(self, timeout: float) -> Path | None:
        """Waits (bounded) for the last recorded bytes, then closes the recording; the finished file, if any."""
        task = self.recording_task
        if task is not None:
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                log.warning("recording stream did not end in time", extra={"session_id": self.session_id})
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return self.recorder.close() if self.recorder is not None else None
