"""An aiortc terminal client that goes through the real server, as a third-party
client would: log in over HTTP, connect to /client, session:open, offer with
the ICE servers of the ack, apply the answer and the device's trickled
candidates (aiortc does not trickle its own: its offer is complete)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import aiohttp
import socketio
from aiortc import RTCIceServer
from aiortc.sdp import candidate_from_sdp

from tests.support.rtc_client import TerminalClient


def rtc_ice_servers(servers: list[dict]) -> list[RTCIceServer]:
    return [RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in servers]


@dataclass
class ProductSession:
    sio: socketio.AsyncClient
    ack: dict
    client: TerminalClient
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
    url: str, token: str, device_id: str, target_id: str, *, binary: bool = False, timeout: float = 30
) -> ProductSession:
    sio = socketio.AsyncClient(reconnection=False)
    answers: asyncio.Queue = asyncio.Queue()
    sio.on("webrtc:answer", answers.put_nowait, namespace="/client")
    remote: list[dict] = []
    sio.on("webrtc:ice", remote.append, namespace="/client")
    await sio.connect(url, namespaces=["/client"], auth={"token": token}, transports=["websocket"])
    try:
        async with asyncio.timeout(timeout):
            while True:
                devices = (await sio.call("devices:list", namespace="/client"))["devices"]
                if any(t["id"] == target_id for d in devices if d["id"] == device_id for t in d["targets"]):
                    break
                await asyncio.sleep(0.3)
        ack = await sio.call("session:open", {"device_id": device_id, "target_id": target_id}, namespace="/client")
        assert ack["ok"], ack
        client = TerminalClient(binary=binary, ice_servers=rtc_ice_servers(ack["ice_servers"]))
        session = ProductSession(sio, ack, client)
        sio.on("webrtc:error", session.errors.put_nowait, namespace="/client")
        offer = {"session_id": ack["session_id"], "type": "offer", "sdp": await client.offer()}
        assert (await sio.call("webrtc:offer", offer, namespace="/client"))["ok"]
        answer = await asyncio.wait_for(answers.get(), timeout)
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
        await sio.disconnect()
        raise
