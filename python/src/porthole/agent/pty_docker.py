"""An interactive `docker exec` with a TTY, streamed without threads.

Control calls (create, inspect, resize, list) go through docker-py. The byte
stream is the exec's hijacked HTTP connection, opened here on the Docker unix
socket; once started, its descriptor (and any output read past the answer's
header) is handed to porthole-core, which pumps it (handoff.py). With a TTY
Docker sends raw bytes (no stream multiplexing headers).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket

import docker
import docker.errors

from porthole import errors
from porthole.agent import killtree
from porthole.errors import PortholeError

log = logging.getLogger("porthole.agent.pty")

# Reading the exec-start answer: its header ends in HEADER_END; bytes after it
# are the process's first output (the preread, at most one HEADER_READ).
HEADER_END = b"\r\n\r\n"
HEADER_READ = 4096
MAX_HEADER = 16 * 1024
# Docker answers the exec-start upgrade at once; more than this is a sick daemon.
START_TIMEOUT_S = 10.0
# After the stream ends, the exec's exit code is set within milliseconds.
EXIT_CODE_TIMEOUT_S = 5.0
# Docker reports the exec's pid once the process runs: milliseconds after start.
PID_TIMEOUT_S = 5.0
# ConsoleSize on exec start needs Docker API 1.42 (Docker 23).
CONSOLE_SIZE_API = (1, 42)
# Docker's attach stream ends an exec on its detach sequence (default Ctrl-P Ctrl-Q, which
# people type: Ctrl-P is the shell's previous-history key) and holds back every byte that
# starts one until the next arrives. There is no "none": this sequence of rarely typed
# control keys stands in for it.
DETACH_KEYS = "ctrl-^,ctrl-@,ctrl-_,ctrl-^,ctrl-@,ctrl-_"


def _api_version(api: docker.APIClient) -> tuple[int, int]:
    major, minor = api.api_version.split(".")[:2]
    return int(major), int(minor)


class DockerExec:
    """One exec session: start(), descriptor() (+ preread), resize(), exit_code(), kill()."""

    kind = "socket"  # handoff.KIND_SOCKET

    def __init__(
        self,
        api: docker.APIClient,
        socket_path: str,
        container: str,
        cmd: list[str],
        *,
        env: dict[str, str],
        user: str,
        cols: int,
        rows: int,
    ) -> None:
        self._api = api
        self._socket_path = socket_path
        self._container = container
        self._cmd = cmd
        self._env = env
        self._user = user
        self._size = (cols, rows)
        self.exec_id: str | None = None
        self.pid: int | None = None
        self.pid_start: int | None = None  # with the pid, the shell's identity (pids are reused)
        self._sock: socket.socket | None = None  # the hijacked stream, our copy
        self.preread = b""  # output read past the answer's header

    async def start(self) -> None:
        try:
            created = await asyncio.to_thread(
                self._api.exec_create,
                self._container,
                self._cmd,
                stdin=True,
                tty=True,
                environment=self._env,
                user=self._user,
                privileged=False,  # never privileged (docs/security.md)
                detach_keys=DETACH_KEYS,
            )
        except docker.errors.NotFound as e:
            raise PortholeError(errors.TARGET_NOT_FOUND, "container is gone") from e
        except docker.errors.APIError as e:
            raise PortholeError(errors.EXEC_FAILED, f"docker exec create failed: {e.explanation}") from e
        self.exec_id = created["Id"]
        try:
            await asyncio.wait_for(self._hijack(), START_TIMEOUT_S)
        except (OSError, TimeoutError) as e:
            raise PortholeError(errors.EXEC_FAILED, f"docker exec start failed: {e}") from e
        self.pid = await self._wait_pid()
        self.pid_start = killtree.start_time(self.pid) if self.pid else None
        if _api_version(self._api) < CONSOLE_SIZE_API:
            await self.resize(*self._size)

    async def _wait_pid(self) -> int | None:
        """The exec's host pid: Docker reports 0 until the process has started."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PID_TIMEOUT_S
        exec_id = self.exec_id
        assert exec_id is not None, "no exec to wait for"
        while True:
            try:
                info = await asyncio.to_thread(self._api.exec_inspect, exec_id)
            except docker.errors.APIError:
                return None
            pid = int(info.get("Pid") or 0)
            if pid or (not info.get("Running") and info.get("ExitCode") is not None) or loop.time() > deadline:
                return pid or None
            await asyncio.sleep(0.02)

    async def _hijack(self) -> None:
        body: dict = {"Detach": False, "Tty": True}
        if _api_version(self._api) >= CONSOLE_SIZE_API:
            cols, rows = self._size
            body["ConsoleSize"] = [rows, cols]
        payload = json.dumps(body).encode()
        request = (
            f"POST /v{self._api.api_version}/exec/{self.exec_id}/start HTTP/1.1\r\n"
            "Host: docker\r\nContent-Type: application/json\r\n"
            "Connection: Upgrade\r\nUpgrade: tcp\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload
        # A plain socket, not asyncio streams: its descriptor goes to
        # porthole-core, with whatever we read past the answer's header.
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, self._socket_path)
            await loop.sock_sendall(sock, request)
            got = b""
            while HEADER_END not in got:
                chunk = await loop.sock_recv(sock, HEADER_READ)
                if not chunk:
                    raise OSError("docker closed the connection before answering")
                got += chunk
                if len(got) > MAX_HEADER:
                    raise OSError("docker's answer has no end of header")
            head, _, rest = got.partition(HEADER_END)
            parts = head.split(b"\r\n", 1)[0].split(b" ", 2)
            if len(parts) < 2 or parts[1] not in (b"101", b"200"):
                raise OSError(f"unexpected answer {head[:100]!r}")
        except BaseException:
            sock.close()
            raise
        self._sock, self.preread = sock, rest

    def descriptor(self) -> int:
        """The exec's stream (ours: kept until kill(); porthole-core gets a duplicate)."""
        assert self._sock is not None, "exec not started"
        return self._sock.fileno()

    async def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        if self.exec_id is None:
            return
        try:
            await asyncio.to_thread(self._api.exec_resize, self.exec_id, height=rows, width=cols)
        except docker.errors.APIError as e:
            # The exec may have just ended; not worth failing the session for.
            log.info("resize failed: %s", e.explanation)

    async def exit_code(self) -> int | None:
        """The exit code once the exec has ended (None if Docker doesn't say in time)."""
        if self.exec_id is None:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EXIT_CODE_TIMEOUT_S
        while loop.time() < deadline:
            try:
                info = await asyncio.to_thread(self._api.exec_inspect, self.exec_id)
            except docker.errors.APIError:
                return None
            if not info.get("Running"):
                code = info.get("ExitCode")
                return int(code) if code is not None else None
            await asyncio.sleep(0.05)
        return None

    async def kill(self) -> int:
        """Kills the exec's whole process session; returns how many were signalled."""
        killed = 0
        if self.pid is None and self.exec_id is not None:
            self.pid = await self._wait_pid()
            self.pid_start = killtree.start_time(self.pid) if self.pid else None
        if self.pid:
            if killtree.visible(self.pid):
                killed = await asyncio.to_thread(killtree.kill_session, self.pid, self.pid_start)
            elif not await self._ended():
                log.error("cannot see exec pid %s: the agent must run in the host PID namespace", self.pid)
        self.close()
        return killed

    def close(self) -> None:
        """Closes our copy of the stream (porthole-core closes its own with the session)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def _ended(self) -> bool:
        if self.exec_id is None:
            return True
        try:
            info = await asyncio.to_thread(self._api.exec_inspect, self.exec_id)
        except docker.errors.APIError:
            return True
        return not info.get("Running")
