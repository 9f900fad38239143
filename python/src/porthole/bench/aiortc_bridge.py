"""REFERENCE IMPLEMENTATION — NOT PORTHOLE. Used only by `make bench` as the
baseline "what a user would pick instead".

The terminal bridge the way seed 004 (shared/seeds/004_...txt) planned it:
aiortc and `docker exec` in one Python asyncio process. aiortc answers the
offer (complete SDP, no trickle), the peer's `terminal` channel carries the
seed's JSON messages, and the exec is made with the Docker SDK
(``exec_create``/``exec_start(socket=True)``, the seed's ``exec_run(...,
socket=True)``) with its socket read on the event loop. It is written fairly:
output goes out in 16 KiB messages, UTF-8 is decoded incrementally, and it
waits while the channel has more than 1 MiB buffered, the same limits as
porthole-core. What it leaves out (grants, signaling server, audit, process
cleanup) costs nothing on the measured paths.

Run as ``python -m porthole.bench.aiortc_bridge``: one JSON request per line on
stdin ``{"id", "offer", "container"}``, one reply per line on stdout
``{"id", "answer"}``; ``{"ready": true}`` first, once imports are done.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import socket
import sys
from typing import Any, cast

import docker
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from porthole.agent.config import DEFAULT_SHELL
from porthole.agent.policy import DEFAULT_USER

CHUNK = 16 * 1024
READ = 64 * 1024
HIGH_WATER = 1 << 20
LOW_WATER = 256 << 10


class BridgeSession:
    def __init__(self, api: docker.APIClient, container: str) -> None:
        self.api = api
        self.container = container
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # never aiortc's public STUN default
        self.sock: socket.socket | None = None
        self.tasks: list[asyncio.Task] = []
        # Input writes in flight: held until done, or the loop may drop one mid-send.
        self.sends: set[asyncio.Task] = set()
        self.pc.on("datachannel", self.on_channel)
        self.pc.on("connectionstatechange", self.on_state)

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription.sdp

    def on_channel(self, channel) -> None:
        if channel.label != "terminal":
            return
        self.tasks.append(asyncio.ensure_future(self.run(channel)))

    async def on_state(self) -> None:
        if self.pc.connectionState in ("closed", "failed"):
            await self.close()

    async def run(self, channel) -> None:
        loop = asyncio.get_running_loop()
        exec_id = (
            await asyncio.to_thread(
                self.api.exec_create,
                self.container,
                list(DEFAULT_SHELL),
                stdin=True,
                tty=True,
                environment={"TERM": "xterm-256color"},
                user=DEFAULT_USER,
            )
        )["Id"]
        # With socket=True docker-py gives a SocketIO around the socket (its stubs say bytes).
        io: Any = await asyncio.to_thread(self.api.exec_start, exec_id, socket=True, tty=True)
        self.sock = sock = cast(socket.socket, getattr(io, "_sock", io))
        sock.setblocking(False)
        low = asyncio.Event()
        channel.bufferedAmountLowThreshold = LOW_WATER
        channel.on("bufferedamountlow", low.set)

        @channel.on("message")
        def on_message(message) -> None:
            if isinstance(message, bytes):
                data = message
            else:
                msg = json.loads(message)
                if msg.get("type") == "input":
                    data = msg["data"].encode()
                elif msg.get("type") == "ping":
                    channel.send(json.dumps({"type": "pong"}))
                    return
                else:
                    return
            send = loop.create_task(loop.sock_sendall(sock, data))
            self.sends.add(send)
            send.add_done_callback(self.sends.discard)

        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while True:
            try:
                data = await loop.sock_recv(sock, READ)
            except OSError:
                break
            if not data:
                break
            text = decoder.decode(data)
            if channel.readyState != "open":
                break
            for i in range(0, len(text), CHUNK):
                while channel.bufferedAmount > HIGH_WATER:
                    low.clear()
                    await low.wait()
                channel.send(json.dumps({"type": "output", "data": text[i : i + CHUNK]}))
        if channel.readyState == "open":
            channel.send(json.dumps({"type": "exit", "code": 0}))

    async def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        await self.pc.close()


async def main() -> None:
    api = docker.APIClient(version="auto")
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    sessions: list[BridgeSession] = []

    def reply(obj: dict) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"ready": True})
    while line := await reader.readline():
        req = json.loads(line)
        s = BridgeSession(api, req["container"])
        sessions.append(s)
        try:
            reply({"id": req["id"], "answer": await s.answer(req["offer"])})
        except Exception as e:  # noqa: BLE001 - reported to the orchestrator
            reply({"id": req["id"], "error": repr(e)})
    for s in sessions:
        await s.close()


if __name__ == "__main__":
    asyncio.run(main())
