"""A shell on the device itself, in a PTY: the demo target when there is no Docker.

Offered only when the agent config enables `host_shell`; labelled as such in the
inventory so nobody mistakes it for a container.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import struct
import termios

from porthole import errors
from porthole.agent import killtree
from porthole.errors import PortholeError


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class HostShell:
    """A process on a PTY: start(), descriptor(), resize(), exit_code(), kill()."""

    kind = "pty"  # handoff.KIND_PTY
    preread = b""  # nothing is read before the handoff

    def __init__(self, cmd: list[str], *, env: dict[str, str], cols: int, rows: int) -> None:
        self._cmd = cmd
        self._env = env
        self._size = (cols, rows)
        self._master: int | None = None
        self._status: int | None = None  # the exit code, once reaped
        self.pid: int | None = None
        self.pid_start: int | None = None  # with the pid, the shell's identity (pids are reused)

    async def start(self) -> None:
        master, slave = os.openpty()
        _set_size(master, *self._size)
        env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "USER", "LANG", "SHELL")}, **self._env}
        # posix_spawn, not fork + preexec_fn: no Python runs in the child of this
        # threaded process (gRPC's fork handlers crash there). The child starts a
        # session, then opens the slave by name: the first tty a session leader
        # opens becomes its controlling terminal.
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.ttyname(slave), os.O_RDWR, 0),
            (os.POSIX_SPAWN_DUP2, 0, 1),
            (os.POSIX_SPAWN_DUP2, 0, 2),
        ]
        try:
            self.pid = os.posix_spawnp(self._cmd[0], self._cmd, env, file_actions=actions, setsid=True)
        except OSError as e:
            os.close(master)
            raise PortholeError(errors.EXEC_FAILED, f"cannot start {self._cmd[0]}: {e.strerror}") from e
        finally:
            os.close(slave)
        self._master = master
        self.pid_start = killtree.start_time(self.pid)

    def descriptor(self) -> int:
        """The PTY master (ours: kept until kill(); porthole-core gets a duplicate)."""
        assert self._master is not None, "shell not started"
        return self._master

    async def resize(self, cols: int, rows: int) -> None:
        if self._master is not None:
            _set_size(self._master, cols, rows)

    def _wait(self) -> int | None:
        """Reaps the process (blocking); its exit code, -S for a signal."""
        if self._status is None and self.pid:
            try:
                _, status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                return self._status
            self._status = os.waitstatus_to_exitcode(status)
        return self._status

    async def exit_code(self) -> int | None:
        if not self.pid:
            return None
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._wait), 5.0)
        except TimeoutError:
            return None

    async def kill(self) -> int:
        killed = 0
        if self.pid:
            killed = await asyncio.to_thread(killtree.kill_session, self.pid, self.pid_start)
        if self.pid:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(self._wait), 5.0)
        self.close()
        return killed

    def close(self) -> None:
        """Closes our copy of the master (porthole-core closes its own with the session)."""
        if self._master is not None:
            with contextlib.suppress(OSError):
                os.close(self._master)
            self._master = None
