"""The agent's side of the descriptor handoff (agent/handoff.py) against the real
porthole-core: a descriptor handed over is pumped to an aiortc peer (with the
bytes read before the handoff first), input comes back on it, refusals carry
their code, and a socket that is not ours alone is never handed a terminal."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import subprocess
from pathlib import Path

import grpc
import pytest

from porthole.agent import handoff, ringmem
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb
from porthole.rpc.v1 import sidecar_pb2_grpc
from tests.support.rtc_client import TerminalClient
from tests.support.stack import core_binary, ice_iface
from tests.support.waiting import async_wait_for


@pytest.fixture
async def core(tmp_path: Path):
    """porthole-core as our child (the side socket accepts only its parent), and a gRPC stub."""
    sock = tmp_path / "core.sock"
    proc = subprocess.Popen(
        [core_binary(), "--listen", str(sock), "--ice-interfaces", ice_iface()],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await async_wait_for(lambda: handoff.socket_path(sock).exists() or None, 10, message="porthole-core's sockets")
    channel = grpc.aio.insecure_channel(f"unix:{sock}")
    try:
        yield sock, sidecar_pb2_grpc.SidecarStub(channel)
    finally:
        await channel.close()
        assert proc.stdin is not None
        proc.stdin.close()  # porthole-core exits when its stdin closes
        proc.wait(10)


async def open_terminal(stub, sid: str) -> TerminalClient:
    client = TerminalClient()
    resp = await stub.CreateSession(
        pb.CreateSessionRequest(session_id=sid, offer_sdp=await client.offer(), kind="terminal"), timeout=10
    )
    await client.accept(resp.answer_sdp)
    async with asyncio.timeout(20):
        await client.opened.wait()
    return client


async def test_a_handed_over_socket_is_pumped_both_ways(core) -> None:
    sock, stub = core
    client = await open_terminal(stub, "s_handoff")
    ours, theirs = socket.socketpair()
    c = handoff.HandoffClient(handoff.socket_path(sock))
    try:
        await c.hand_over("s_handoff", theirs.fileno(), handoff.KIND_SOCKET, preread="pré-".encode())
        ours.sendall("lu après ✓\n".encode())
        await client.wait_output("pré-lu après ✓")
        client.type("typed")
        got = await asyncio.to_thread(ours.recv, 100)
        assert got == b"typed"
        # The session takes one descriptor: a second is refused with its code.
        with pytest.raises(PortholeError, match="already_attached"):
            await c.hand_over("s_handoff", theirs.fileno(), handoff.KIND_SOCKET)
    finally:
        c.close()
        ours.close()
        theirs.close()
        await client.close()


async def test_refusals_carry_their_code(core) -> None:
    sock, stub = core
    client = await open_terminal(stub, "s_refused")
    c = handoff.HandoffClient(handoff.socket_path(sock))
    r, w = os.pipe()
    a, b = socket.socketpair()
    try:
        with pytest.raises(PortholeError, match="unknown_session"):
            await c.hand_over("s_nobody", a.fileno(), handoff.KIND_SOCKET)
        with pytest.raises(PortholeError, match="bad_fd"):  # a pipe is neither a socket nor a PTY
            await c.hand_over("s_refused", r, handoff.KIND_SOCKET)
        # The connection goes on after refusals: the right one is taken.
        await c.hand_over("s_refused", a.fileno(), handoff.KIND_SOCKET)
    finally:
        c.close()
        for fd in (r, w):
            os.close(fd)
        a.close()
        b.close()
        await client.close()


async def test_a_socket_others_could_reach_is_never_used(tmp_path: Path) -> None:
    path = tmp_path / "squatted.fd"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(str(path))
    srv.listen(1)
    os.chmod(path, 0o666)
    a, b = socket.socketpair()
    try:
        with pytest.raises(PortholeError) as e:
            await handoff.HandoffClient(path).hand_over("s_x", a.fileno(), handoff.KIND_SOCKET)
        assert e.value.code == "sidecar_unavailable" and "not a private socket" in e.value.message
        srv.settimeout(0.2)
        with pytest.raises(TimeoutError):
            srv.accept()  # nobody connected
    finally:
        srv.close()
        a.close()
        b.close()


async def test_output_read_past_dockers_answer_goes_first(core, make_container, monkeypatch) -> None:
    """The agent's DockerExec against a real exec whose output is already waiting when the
    answer to exec-start is read: what came with the answer's header is the preread, and the
    peer sees it first, then the rest pumped from the stream."""
    import docker

    from porthole.agent.pty_docker import DockerExec

    sock, stub = core
    c = make_container()
    api = docker.APIClient(base_url="unix:///var/run/docker.sock", version="auto")
    loop = asyncio.get_running_loop()
    real_recv = loop.sock_recv

    async def late_recv(s, n):  # the agent is slow to read Docker's answer: the output is there by then
        await asyncio.sleep(1.0)
        return await real_recv(s, n)

    ex = DockerExec(
        api, "/var/run/docker.sock", c.id, ["/bin/sh", "-c", "printf early-$((6*7))-; exec cat"],
        env={}, user="65534:65534", cols=80, rows=24,
    )  # fmt: skip
    monkeypatch.setattr(loop, "sock_recv", late_recv)
    await ex.start()
    monkeypatch.setattr(loop, "sock_recv", real_recv)
    assert ex.preread.startswith(b"early-42-"), ex.preread
    client = await open_terminal(stub, "s_preread")
    h = handoff.HandoffClient(handoff.socket_path(sock))
    try:
        await h.hand_over("s_preread", ex.descriptor(), handoff.KIND_SOCKET, preread=ex.preread)
        client.type("then-typed\r")
        await client.wait_output("then-typed")
        assert client.text().startswith("early-42-"), client.text()
    finally:
        h.close()
        await ex.kill()
        await client.close()
        api.close()


async def test_a_resumable_terminal_keeps_its_ring_in_the_agents_memfd(core) -> None:
    """ring_memfd: porthole-core writes the scrollback into our memfd (ringmem.py), in the
    layout docs/protocol.md gives, so that the next porthole-core can continue it."""
    sock, stub = core
    client = await open_terminal(stub, "s_ringfd")
    ours, theirs = socket.socketpair()
    ring_bytes = 64
    ring_fd = ringmem.create(ring_bytes)
    c = handoff.HandoffClient(handoff.socket_path(sock))
    try:
        await c.hand_over("s_ringfd", theirs.fileno(), handoff.KIND_SOCKET, ring_bytes=ring_bytes, ring_fd=ring_fd)
        text = "".join(f"line {i}\n" for i in range(12))  # 84 bytes: the ring wraps
        ours.sendall(text.encode())
        await client.wait_output(text)
        mem = os.pread(ring_fd, ringmem.HEADER + ring_bytes, 0)
        magic, size, total, generation = mem[:8], *struct.unpack_from("<QQQ", mem, 8)
        assert (magic, size, total, generation) == (b"PTHRING1", ring_bytes, len(text), 1)
        at = total % size
        data = mem[ringmem.HEADER :]
        assert data[at:] + data[:at] == text.encode()[-ring_bytes:]
    finally:
        c.close()
        os.close(ring_fd)
        ours.close()
        theirs.close()
        await client.close()
