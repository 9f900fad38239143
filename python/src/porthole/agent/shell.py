"""The shell of a terminal session: the process in its PTY (a docker exec or a
host shell), its recorder, its idle clock, its byte counts and its exit code.

It knows nothing of peers: the bridge (bridge.py) moves bytes between a shell
and one connection's terminal stream. A shell that outlives its connection
(resume, ICE restart, several viewers) keeps this object and gets a new
bridge.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from porthole.agent import policy
from porthole.agent.recording import Recorder
from porthole.errors import PortholeError

log = logging.getLogger("porthole.agent.session")

# TERM of every shell (and the recording's header): what xterm.js in the page emulates.
TERM = "xterm-256color"


class Pty(Protocol):
    pid: int | None

    async def start(self) -> None: ...
    async def read(self) -> bytes: ...
    async def write(self, data: bytes) -> None: ...
    async def resize(self, cols: int, rows: int) -> None: ...
    async def exit_code(self) -> int | None: ...
    async def kill(self) -> int: ...


class Shell:
    def __init__(self, session_id: str, cols: int, rows: int, *, interactive: bool, forbid_root: bool = False) -> None:
        self.session_id = session_id
        self.cols, self.rows = cols, rows
        self.interactive = interactive  # a view-only grant: input is dropped, never written
        self.forbid_root = forbid_root  # kill and refuse an exec that runs as uid 0 anyway
        self.pty: Pty | None = None
        self.exec_id: str | None = None
        self.exit_code: int | None = None
        self.recorder: Recorder | None = None  # when the policy records this session
        self.recorder_factory: Callable[[], Recorder] | None = None  # makes it once the process runs
        self.last_activity = time.monotonic()  # input or output; the idle timeout counts from here
        self.bytes_from_peer = 0
        self.bytes_to_peer = 0
        self.input_dropped = 0  # bytes of input refused in a view-only session

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

    def start_recording(self) -> None:
        if self.recorder_factory is None:
            return
        try:
            self.recorder = self.recorder_factory()
        except OSError as e:
            log.error("cannot record session: %s", e.strerror, extra={"session_id": self.session_id})

    async def read(self) -> bytes:
        """The process's next output (counted, recorded); b"" at its end, when exit_code is set."""
        assert self.pty is not None
        data = await self.pty.read()
        if not data:
            self.exit_code = await self.pty.exit_code()
            return b""
        self.bytes_to_peer += len(data)
        self.last_activity = time.monotonic()
        if self.recorder is not None:
            self.recorder.output(data)
        return data

    async def write(self, data: bytes) -> None:
        """Input from the peer; dropped (and counted) in a view-only session."""
        assert self.pty is not None
        if not self.interactive:
            self.input_dropped += len(data)
            return
        self.bytes_from_peer += len(data)
        self.last_activity = time.monotonic()
        if self.recorder is not None:
            self.recorder.input(data)
        await self.pty.write(data)

    async def resize(self, cols: int, rows: int) -> None:
        assert self.pty is not None
        self.cols, self.rows = cols, rows
        await self.pty.resize(cols, rows)
        if self.recorder is not None:
            self.recorder.resize(cols, rows)

    async def kill(self) -> int:
        """Kills every process of the shell; how many there were."""
        return await self.pty.kill() if self.pty is not None else 0

    def close_recording(self) -> Path | None:
        """Closes the recording; the finished file, if any."""
        return self.recorder.close() if self.recorder is not None else None
