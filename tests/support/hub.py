"""A signaling hub that plays the server's side of the `/agent` namespace for
agent tests: it accepts the agent's connection (checking its device secret),
records everything the agent sends, and lets a test send offers carrying
grants it signed itself, good or forged. The real server's relay is tested
in tests/server and end to end."""

from __future__ import annotations

import asyncio
import socket
from collections import defaultdict

import socketio
from aiohttp import web


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AgentHub:
    def __init__(self, device_id: str, secret: str) -> None:
        self.device_id = device_id
        self.secret = secret
        self.sio = socketio.AsyncServer(async_mode="aiohttp", logger=False, engineio_logger=False)
        self.app = web.Application()
        self.sio.attach(self.app)
        self.agent_sid: str | None = None
        self.connected = asyncio.Event()
        self.inventory: list[dict] = []
        self.inventory_changed = asyncio.Event()
        self.events: dict[str, list[tuple[str, dict]]] = defaultdict(list)  # session id → [(event, data)]
        self.unsessioned: list[tuple[str, dict]] = []
        # Every `agent:sessions` re-announce, and the status this hub answers for each session.
        self.reannounced: list[dict] = []
        self.reannounce_status = "rebound"
        self._changed = asyncio.Event()
        self.port = free_port()
        self.runner: web.AppRunner | None = None
        ns = "/agent"
        self.sio.on("connect", self._connect, namespace=ns)
        self.sio.on("disconnect", self._disconnect, namespace=ns)
        self.sio.on("agent:inventory", self._inventory, namespace=ns)
        self.sio.on("agent:sessions", self._sessions, namespace=ns)
        for ev in ("webrtc:answer", "webrtc:ice", "webrtc:disconnect", "webrtc:error"):
            self.sio.on(ev, self._recorder(ev), namespace=ns)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    async def _connect(self, sid, environ, auth):
        if not isinstance(auth, dict) or auth.get("device_id") != self.device_id or auth.get("secret") != self.secret:
            raise socketio.exceptions.ConnectionRefusedError({"code": "unauthenticated"})
        self.agent_sid = sid
        self.connected.set()

    async def _disconnect(self, sid, reason=None):
        if sid == self.agent_sid:
            self.agent_sid = None
            self.connected.clear()

    async def _inventory(self, sid, data):
        self.inventory = data.get("targets", [])
        self.inventory_changed.set()

    async def _sessions(self, sid, data):
        self.reannounced.append(data)
        self._changed.set()
        items = data.get("sessions", []) if isinstance(data, dict) else []
        return {
            "ok": True,
            "sessions": [{"session_id": i.get("session_id"), "status": self.reannounce_status} for i in items],
        }

    async def drop(self) -> None:
        """Disconnects the agent's socket (as a server that lost it would); the agent reconnects."""
        assert self.agent_sid, "agent not connected"
        await self.sio.disconnect(self.agent_sid, namespace="/agent")

    async def wait_reannounced(self, session_id: str, timeout: float = 30.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for r in self.reannounced:
                    for item in r.get("sessions", []):
                        if item.get("session_id") == session_id:
                            return item
                self._changed.clear()
                await self._changed.wait()

    def _recorder(self, event: str):
        async def record(sid, data):
            target = (
                self.events[data["session_id"]]
                if isinstance(data, dict) and data.get("session_id")
                else self.unsessioned
            )
            target.append((event, data))
            self._changed.set()

        return record

    async def send(self, event: str, data: dict) -> None:
        assert self.agent_sid, "agent not connected"
        await self.sio.emit(event, data, to=self.agent_sid, namespace="/agent")

    async def wait_event(self, session_id: str, event: str, timeout: float = 15.0) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                for ev, data in self.events[session_id]:
                    if ev == event:
                        return data
                self._changed.clear()
                await self._changed.wait()

    def got(self, session_id: str, event: str) -> list[dict]:
        return [d for ev, d in self.events[session_id] if ev == event]
