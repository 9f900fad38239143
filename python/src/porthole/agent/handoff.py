"""Hands a terminal's descriptor to porthole-core (docs/protocol.md, "Descriptor handoff").

The agent keeps owning the shell; porthole-core pumps its bytes. One
SOCK_SEQPACKET connection to porthole-core's side socket (next to its gRPC
socket, `<socket>.fd`) carries one message per terminal: a JSON header with
exactly one descriptor (SCM_RIGHTS), answered by `{"ok": true}` or a refusal
with a code. porthole-core checks that we are its parent (SO_PEERCRED); we
check that the socket is owned by us and not reachable by others.

porthole-core owns its copy of the descriptor from a successful reply on; the
caller keeps (and must eventually close) its own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import stat
from pathlib import Path

from porthole import errors
from porthole.errors import PortholeError

VERSION = 1
SUFFIX = ".fd"
KIND_SOCKET, KIND_PTY = "socket", "pty"
# A reply is a short JSON object; a local socket answers in microseconds.
MAX_REPLY = 4096
TIMEOUT_S = 5.0
# porthole-core refuses a preread above this (its terminal.MaxPreread).
MAX_PREREAD = 64 * 1024
# Refusals that mean porthole-core is going away: the caller may retry on the next one.
UNAVAILABLE = frozenset({"shutting_down"})


def socket_path(grpc_socket: Path) -> Path:
    return grpc_socket.with_name(grpc_socket.name + SUFFIX)


class HandoffClient:
    """One connection to porthole-core's side socket; messages one at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock: socket.socket | None = None
        self._lock = asyncio.Lock()

    def _connect(self) -> socket.socket:
        st = os.stat(self.path)
        if not stat.S_ISSOCK(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
            raise PortholeError(
                errors.SIDECAR_UNAVAILABLE,
                f"{self.path} is not a private socket of this user: refusing to hand it a terminal",
            )
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(TIMEOUT_S)
        try:
            s.connect(str(self.path))
        except OSError:
            s.close()
            raise
        return s

    def _send(self, header: bytes, fds: list[int]) -> dict:
        if self._sock is None:
            self._sock = self._connect()
        try:
            socket.send_fds(self._sock, [header], fds)
            reply = self._sock.recv(MAX_REPLY)
        except OSError:
            self.close()  # the next hand_over reconnects (porthole-core may have restarted)
            raise
        if not reply:
            self.close()
            raise ConnectionError("porthole-core closed the handoff socket")
        return json.loads(reply)

    async def hand_over(
        self,
        session_id: str,
        fd: int,
        kind: str,
        *,
        preread: bytes = b"",
        record: bool = False,
        record_input: bool = False,
        view_only: bool = False,
        ring_bytes: int = 0,
        ring_fd: int | None = None,
    ) -> None:
        """Gives porthole-core a duplicate of fd for this session; raises PortholeError when refused.
        ring_fd (with ring_bytes): the memfd that keeps the scrollback ring (ringmem.py), sent after fd."""
        if len(preread) > MAX_PREREAD:
            raise PortholeError(errors.INTERNAL, f"{len(preread)} bytes read past the upgrade (limit {MAX_PREREAD})")
        header: dict[str, object] = {"version": VERSION, "session_id": session_id, "kind": kind}
        if preread:
            header["preread"] = base64.b64encode(preread).decode()
        if record:
            header["record"] = True
            header["record_input"] = record_input
        if view_only:
            header["view_only"] = True
        if ring_bytes:
            # Resumable: porthole-core keeps the terminal detached when its peer goes away.
            header["ring_bytes"] = ring_bytes
        fds = [fd]
        if ring_bytes and ring_fd is not None:
            header["ring_memfd"] = True
            fds.append(ring_fd)
        data = json.dumps(header).encode()
        async with self._lock:
            try:
                reply = await asyncio.to_thread(self._send, data, fds)
            except (OSError, ValueError) as e:
                raise PortholeError(errors.SIDECAR_UNAVAILABLE, f"descriptor handoff failed: {e}") from e
        if not reply.get("ok"):
            code = str(reply.get("code", "internal"))
            what = errors.SIDECAR_UNAVAILABLE if code in UNAVAILABLE else errors.INTERNAL
            raise PortholeError(what, f"porthole-core refused the terminal ({code}): {reply.get('message', '')}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
