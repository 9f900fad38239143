"""A diagnostic path: Porthole without Docker. porthole-core (its own, started
here) and, in place of the agent, a stand-in in this process that speaks the
same Terminal gRPC stream from Python (grpc.aio, like the agent) and plays the
shell: it echoes keystrokes as busy-box ash does and answers the throughput
command with the same amount of base64 at once. Comparing it with the full
path tells how much of Porthole's cost is Docker and the PTY, and how much
the WebRTC engine, the gRPC hop and Python."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import re

import grpc

from porthole.bench.context import Context
from porthole.bench.peer import PeerProcess
from porthole.bench.screenrx import Sidecar
from porthole.rpc.v1 import sidecar_pb2 as pb

PROMPT = b"/ # "
# What ash prints for DEL after a character: back one, erase to the end of the screen.
DEL_ECHO = b"\b\x1b[J"
# Output frames as large as the agent's reads may be (sidecar.proto: at most 64 KiB).
FRAME = 64 * 1024
RPC_TIMEOUT_S = 10.0
_HEAD = re.compile(rb"head -c (\d+)")


def _base64_output(nbytes: int) -> bytes:
    """What the PTY carries for `head -c N /dev/urandom | base64`: 76-column lines, CRLF."""
    return base64.encodebytes(os.urandom(nbytes)).replace(b"\n", b"\r\n")


class CoreOnly:
    def __init__(self, ctx: Context, peer: PeerProcess) -> None:
        directory = ctx.workdir / "coreonly"
        directory.mkdir(exist_ok=True)
        self.sidecar = Sidecar(ctx.core, ctx.iface, directory)
        # pion's trickle and close warnings are expected here; keep the table readable.
        self.sidecar.argv[self.sidecar.argv.index("--log-level") + 1] = "error"
        self.peer = peer
        self._answered: dict[str, asyncio.Event] = {}
        self._peers: dict[str, str] = {}  # session id → peer name
        self._tasks: set[asyncio.Task] = set()
        self._outputs: dict[int, bytes] = {}
        self._n = 0

    async def start(self) -> None:
        await self.sidecar.start()
        ready = asyncio.Event()
        self._spawn(self._watch(ready))
        await asyncio.wait_for(ready.wait(), RPC_TIMEOUT_S)

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _watch(self, ready: asyncio.Event) -> None:
        call = self.sidecar.stub.WatchEvents(pb.WatchEventsRequest())
        await call.initial_metadata()
        ready.set()
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            async for ev in call:
                if ev.WhichOneof("event") == "local_candidate" and ev.local_candidate.candidate:
                    self._spawn(self._forward(ev.session_id, ev.local_candidate))

    async def _forward(self, sid: str, c: pb.IceCandidate) -> None:
        event = self._answered.setdefault(sid, asyncio.Event())
        await asyncio.wait_for(event.wait(), RPC_TIMEOUT_S)
        await self.peer.request(
            "candidate",
            peer=self._peers[sid],
            candidate={
                "candidate": c.candidate,
                "sdpMid": c.sdp_mid or None,
                "sdpMLineIndex": c.sdp_mline_index if c.sdp_mline_index >= 0 else None,
            },
        )

    async def open(self, *, binary: bool = False, flood: bool = False) -> str:
        """A terminal session through porthole-core to the stand-in shell; returns the peer name.
        flood: as Stack.open_terminal's."""
        offer = await self.peer.request("new", protocol="porthole-binary" if binary else "", flood=flood)
        self._n += 1
        sid = f"coreonly-{self._n}"
        self._peers[sid] = offer["peer"]
        resp = await self.sidecar.stub.CreateSession(
            pb.CreateSessionRequest(session_id=sid, offer_sdp=offer["sdp"], kind="terminal"), timeout=RPC_TIMEOUT_S
        )
        self._spawn(self._shell(sid))
        await self.peer.request("answer", peer=offer["peer"], sdp=resp.answer_sdp)
        self._answered.setdefault(sid, asyncio.Event()).set()
        await self.peer.request("ready", peer=offer["peer"], timeout_s=30)
        return offer["peer"]

    async def _shell(self, sid: str) -> None:
        call = self.sidecar.stub.Terminal()
        await call.write(pb.TerminalFromAgent(attach=pb.Attach(session_id=sid)))
        first = await call.read()
        if first is grpc.aio.EOF:
            return
        await call.write(pb.TerminalFromAgent(output=PROMPT))
        with contextlib.suppress(grpc.aio.AioRpcError, asyncio.CancelledError):
            while (frame := await call.read()) is not grpc.aio.EOF:
                if frame.WhichOneof("frame") != "input":
                    continue
                data = frame.input
                if m := _HEAD.search(data):
                    await call.write(pb.TerminalFromAgent(output=data))  # the echoed command line
                    out = self._output(int(m.group(1))) + b"BENCH_DONE\r\n" + PROMPT
                    for i in range(0, len(out), FRAME):
                        await call.write(pb.TerminalFromAgent(output=out[i : i + FRAME]))
                else:
                    await call.write(pb.TerminalFromAgent(output=DEL_ECHO if data == b"\x7f" else data))

    def _output(self, nbytes: int) -> bytes:
        if nbytes not in self._outputs:
            self._outputs[nbytes] = _base64_output(nbytes)
        return self._outputs[nbytes]

    async def close(self, name: str) -> None:
        sid = next(s for s, p in self._peers.items() if p == name)
        await self.peer.request("close", peer=name)
        with contextlib.suppress(grpc.aio.AioRpcError):
            await self.sidecar.stub.CloseSession(pb.CloseSessionRequest(session_id=sid, reason="bench"), timeout=5)

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.sidecar.stop()
