"""A terminal client on aiortc: a WebRTC stack we did not write, speaking the
`terminal` data-channel protocol of docs/protocol.md §5 like any third-party
client would. aiortc does not trickle: its offer carries every candidate."""

from __future__ import annotations

import asyncio
import json

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

BINARY_PROTOCOL = "porthole-binary"


class TerminalClient:
    def __init__(self, *, binary: bool = False, ice_servers: list | None = None) -> None:
        # Never aiortc's default (a public STUN server): none, or what a test gives (e.g. a local coturn).
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers or []))
        self.binary = binary
        self.channel = self.pc.createDataChannel("terminal", protocol=BINARY_PROTOCOL if binary else "")
        self.output = bytearray()
        self.messages: list[dict] = []  # every JSON message other than output, in order
        self.errors: list[dict] = []
        self.exit_code: asyncio.Future[int] = asyncio.get_event_loop().create_future()
        self.opened = asyncio.Event()
        self.closed = asyncio.Event()
        self._changed = asyncio.Event()
        self.channel.on("open", self.opened.set)
        self.channel.on("close", self.closed.set)
        self.channel.on("message", self._on_message)

    def _on_message(self, msg: str | bytes) -> None:
        if isinstance(msg, bytes):
            self.output += msg
        else:
            m = json.loads(msg)
            if m.get("type") == "output":
                self.output += m["data"].encode()
            else:
                self.messages.append(m)
                if m.get("type") == "error":
                    self.errors.append(m)
                if m.get("type") == "exit" and not self.exit_code.done():
                    self.exit_code.set_result(m["code"])
        self._changed.set()

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    def send_json(self, obj: dict) -> None:
        self.channel.send(json.dumps(obj))

    def send_raw(self, data: str | bytes) -> None:
        self.channel.send(data)

    def type(self, text: str) -> None:
        if self.binary:
            self.channel.send(text.encode())
        else:
            self.send_json({"type": "input", "data": text})

    def resize(self, cols: int, rows: int) -> None:
        self.send_json({"type": "resize", "cols": cols, "rows": rows})

    def text(self) -> str:
        return self.output.decode("utf-8", errors="replace")

    async def wait_for(self, predicate, timeout: float = 15.0, what: str = "condition") -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def wait_output(self, needle: str, timeout: float = 15.0) -> str:
        try:
            await self.wait_for(lambda: needle in self.text(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{needle!r} not in terminal output after {timeout}s: {self.text()[-2000:]!r}"
            ) from None
        return self.text()

    async def wait_message(self, mtype: str, timeout: float = 15.0, start: int = 0) -> dict:
        def found():
            return next((m for m in self.messages[start:] if m.get("type") == mtype), None)

        try:
            await self.wait_for(lambda: found() is not None, timeout)
        except TimeoutError:
            raise AssertionError(f"no {mtype!r} message after {timeout}s; got {self.messages!r}") from None
        return found()

    async def close(self) -> None:
        await self.pc.close()
