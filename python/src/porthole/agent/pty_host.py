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
import subprocess
import termios

from porthole import errors
from porthole.agent import killtree
from porthole.errors import PortholeError

READ_CHUNK = 64 * 1024


def _set_size(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _make_controlling_tty() -> None:  # runs in the child after setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class HostShell:
    def __init__(self, cmd: list[str], *, env: dict[str, str], cols: int, rows: int) -> None:
        self._cmd = cmd
        self._env = env
        self._size = (cols, rows)
        self._master: int | None = None
        self._proc: subprocess.Popen | None = None
        self._eof = False
        self.pid: int | None = None
        self.pid_start: int | None = None  # with the pid, the shell's identity (pids are reused)

    async def start(self) -> None:
        master, slave = os.openpty()
        _set_size(master, *self._size)
        env = {**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "USER", "LANG", "SHELL")}, **self._env}
        try:
            self._proc = subprocess.Popen(
                self._cmd,
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                close_fds=True,
                start_new_session=True,
                preexec_fn=_make_controlling_tty,
            )
        except OSError as e:
            os.close(master)
            raise PortholeError(errors.EXEC_FAILED, f"cannot start {self._cmd[0]}: {e.strerror}") from e
        finally:
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        self.pid = self._proc.pid
        self.pid_start = killtree.start_time(self.pid)

    async def read(self) -> bytes:
        assert self._master is not None
        if self._eof:
            return b""
        loop = asyncio.get_running_loop()
        while True:
            try:
                data = os.read(self._master, READ_CHUNK)
                if not data:
                    self._eof = True
                return data
            except BlockingIOError:
                fut = loop.create_future()
                loop.add_reader(self._master, fut.set_result, None)
                try:
                    await fut
                finally:
                    loop.remove_reader(self._master)
            except OSError:  # EIO: the slave side is closed, the shell is gone
                self._eof = True
                return b""

    async def write(self, data: bytes) -> None:
        assert self._master is not None
        loop = asyncio.get_running_loop()
        view = memoryview(data)
        while view:
            try:
                n = os.write(self._master, view)
                view = view[n:]
            except BlockingIOError:
                fut = loop.create_future()
                loop.add_writer(self._master, fut.set_result, None)
                try:
                    await fut
                finally:
                    loop.remove_writer(self._master)
            except OSError:
                return

    async def resize(self, cols: int, rows: int) -> None:
        if self._master is not None:
            _set_size(self._master, cols, rows)

    async def exit_code(self) -> int | None:
        if self._proc is None:
            return None
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._proc.wait), 5.0)
        except TimeoutError:
            return None

    async def kill(self) -> int:
        killed = 0
        if self.pid:
            killed = await asyncio.to_thread(killtree.kill_session, self.pid, self.pid_start)
        if self._proc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.to_thread(self._proc.wait), 5.0)
        if self._master is not None:
            with contextlib.suppress(OSError):
                os.close(self._master)
            self._master = None
        return killed
