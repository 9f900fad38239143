"""aiortc clients that go through the real server, as a third-party client
would: log in over HTTP, connect to /client, session:open, offer with the ICE
servers of the ack, apply the answer and the device's trickled candidates
(aiortc does not trickle its own: its offer is complete). A terminal
(tests/support/rtc_client.py) or a screen (tests/screen/client.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import aiohttp
import socketio
from aiortc import RTCIceServer
from aiortc.sdp import candidate_from_sdp

from tests.screen.client import ScreenClient
from tests.support.rtc_client import TerminalClient

C = TypeVar("C", TerminalClient, ScreenClient)


def rtc_ice_servers(servers: list[dict]) -> list[RTCIceServer]:
    return [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in servers]


@dataclass
class ProductSession(Generic[C]):
    sio: socketio.AsyncClient
    ack: dict
    client: C
    errors: asyncio.Queue = field(default_factory=asyncio.Queue)

    @property
    def id(self) -> str:
        return self.ack["session_id"]

    async def close(self) -> None:
        await self.client.close()
        await self.sio.disconnect()


async def login(url: str, username: str, password: str) -> str:
    body = {"username": username, "password": password}
    async with aiohttp.ClientSession() as http, http.post(url + "/api/login", json=body) as r:
        assert r.status == 200, await r.text()
        return (await r.json())["token"]


async def open_terminal(
    url: str,
    token: str,
    device_id: str,
    target_id: str,
    *,
    binary: bool = False,
    timeout: float = 30,
    extra: dict | None = None,
) -> ProductSession[TerminalClient]:
    """extra: more fields of session:open (a resume: docs/protocol.md §4c)."""

    def make(ice: list[RTCIceServer]) -> TerminalClient:
        return TerminalClient(binary=binary, ice_servers=ice)

    return await _open(url, token, device_id, target_id, "terminal", make, timeout, extra)


async def open_screen(
    url: str, token: str, device_id: str, target_id: str, *, timeout: float = 30, extra: dict | None = None
) -> ProductSession[ScreenClient]:
    """A screen session (docs/protocol.md §5b); returns once its `input` channel is open.
    extra: more fields of session:open (a join: docs/protocol.md §2f)."""
    return await _open(
        url, token, device_id, target_id, "screen", lambda ice: ScreenClient(ice_servers=ice), timeout, extra
    )


async def _open(
    url: str,
    token: str,
    device_id: str,
    target_id: str,
    kind: str,
    make_client: Callable[[list[RTCIceServer]], C],
    timeout: float,
    extra: dict | None = None,
) -> ProductSession[C]:
    sio = socketio.AsyncClient(reconnection=False)
    answers: asyncio.Queue = asyncio.Queue()
    sio.on("webrtc:answer", answers.put_nowait, namespace="/client")
    remote: list[dict] = []
    sio.on("webrtc:ice", remote.append, namespace="/client")
    await sio.connect(url, namespaces=["/client"], auth={"token": token}, transports=["websocket"])
    client: C | None = None
    try:
        async with asyncio.timeout(timeout):
            while True:
                devices = (await sio.call("devices:list", namespace="/client"))["devices"]
                if any(t["id"] == target_id for d in devices if d["id"] == device_id for t in d["targets"]):
                    break
                await asyncio.sleep(0.3)
        body = {"device_id": device_id, "target_id": target_id, "kind": kind, **(extra or {})}
        ack = await sio.call("session:open", body, namespace="/client")
        assert ack["ok"], ack
        client = make_client(rtc_ice_servers(ack["ice_servers"]))
        session = ProductSession(sio, ack, client)
        sio.on("webrtc:error", session.errors.put_nowait, namespace="/client")
        offer = {"session_id": ack["session_id"], "type": "offer", "sdp": await client.offer()}
        assert (await sio.call("webrtc:offer", offer, namespace="/client"))["ok"]
        try:
            answer = await asyncio.wait_for(answers.get(), timeout)
        except TimeoutError:
            errors = [session.errors.get_nowait() for _ in range(session.errors.qsize())]
            raise AssertionError(f"no answer to the offer; webrtc:error {errors}") from None
        await client.accept(answer["sdp"])

        async def trickle() -> None:  # the device's candidates, as they come
            done = 0
            while not client.opened.is_set():
                for c in remote[done:]:
                    cand = c.get("candidate")
                    if cand and cand.get("candidate"):
                        rc = candidate_from_sdp(cand["candidate"].removeprefix("candidate:"))
                        rc.sdpMid, rc.sdpMLineIndex = cand.get("sdpMid"), cand.get("sdpMLineIndex")
                        await client.pc.addIceCandidate(rc)
                done = len(remote)
                await asyncio.sleep(0.05)

        feeder = asyncio.create_task(trickle())
        try:
            async with asyncio.timeout(timeout):
                await client.opened.wait()
        finally:
            feeder.cancel()
        return session
    except BaseException:
        if client is not None:  # a refused session: its peer connection is closed too
            await client.close()
        await sio.disconnect()
        raise


async def rebind(session: ProductSession, url: str, token: str, *, timeout: float = 60) -> list[str]:
    """After the session's /client socket was lost (a server restart, a network cut): a new
    socket and `session:rebind` until the server routes the session to it again
    (docs/protocol.md §2c). Returns the statuses seen, in order, without repeats."""
    with contextlib.suppress(Exception):
        await session.sio.disconnect()
    sio = socketio.AsyncClient(reconnection=False)
    sio.on("webrtc:error", session.errors.put_nowait, namespace="/client")
    seen: list[str] = []
    async with asyncio.timeout(timeout):
        while not sio.connected:
            try:
                await sio.connect(url, namespaces=["/client"], auth={"token": token}, transports=["websocket"])
            except socketio.exceptions.ConnectionError:
                await asyncio.sleep(0.3)
        while True:
            ack = await sio.call("session:rebind", {"sessions": [{"session_id": session.id}]}, namespace="/client")
            assert ack["ok"], ack
            status = ack["sessions"][0]["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status == "rebound":
                break
            assert status == "pending", ack
            await asyncio.sleep(0.3)
    session.sio = sio
    return seen
