"""A real server on 127.0.0.1 (random port) and real Socket.IO clients against it.

The config has two orgs. In `demo`: `operator` (interactive on edge-* for
targets plc-* and host), `viewer` (view only, edge-1, every target); in
`other`: `outsider` (everything in `other`). Devices: edge-1 and edge-2 in
demo, far-1 in other. Hashes use a small scrypt N so that tests stay fast.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from porthole import grant
from porthole.server import config as config_mod
from porthole.server import passwords
from porthole.server.app import Server

# Fast hashes for tests only (production default is 2**14).
TEST_N = 2**8
WAIT_S = 5.0
# A refused connect answers after the device-secret or token check, which on a loaded machine
# (an scrypt hash in the pool) can take longer than WAIT_S; past the wait the client gives up
# without the connect_error the test reads.
CONNECT_WAIT_S = 20.0

PASSWORDS = {"operator": "op-Pa55word-xyzzy", "viewer": "vi-Pa55word-plugh", "outsider": "ou-Pa55word-frob"}
SECRETS = {"edge-1": "sec-edge1-QWERTYUIOP", "edge-2": "sec-edge2-ASDFGHJKL", "far-1": "sec-far1-ZXCVBNM"}
TURN_SECRET = "turn-secret-LKJHGFDSA-0123456789"
TURN_CREDENTIAL = TURN_SECRET  # the long-lived TURN secret: no log, ack or audit record may hold it

CLIENT_EVENTS = (
    "devices:changed",
    "webrtc:answer",
    "webrtc:ice",
    "webrtc:disconnect",
    "webrtc:error",
    "session:warning",
)
AGENT_EVENTS = ("webrtc:offer", "webrtc:ice", "webrtc:disconnect", "webrtc:restart")


def h(secret: str) -> str:
    return passwords.hash_password(secret, n=TEST_N)


def write_config(directory: Path, **server_overrides: Any) -> Path:
    """Writes server.toml and its key into directory; returns the config path."""
    priv, pub = grant.generate_keypair()
    (directory / "key.pem").write_bytes(priv)
    (directory / "key.pub.pem").write_bytes(pub)
    server = {
        "listen": "127.0.0.1:0",
        "signing_key": "key.pem",
        "origins": ["https://console.example"],
        "login_max_failures": 5,
        **server_overrides,
    }
    lines = ["[server]"] + [f"{k} = {json.dumps(v)}" for k, v in server.items()]
    (directory / "turn.secret").write_text(TURN_SECRET)
    lines += [
        "[[server.ice_servers]]",
        'urls = ["stun:127.0.0.1:3478"]',
        "[server.turn]",
        'urls = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]',
        'secret_file = "turn.secret"',
        '[[orgs]]\nid = "demo"',
        '[[orgs]]\nid = "other"',
        f'[[users]]\nname = "operator"\norg = "demo"\npassword_hash = "{h(PASSWORDS["operator"])}"',
        '[[users.grants]]\ndevices = ["edge-*"]\ntargets = ["plc-*", "host"]',
        'kinds = ["terminal"]\nmode = "interactive"',
        f'[[users]]\nname = "viewer"\norg = "demo"\npassword_hash = "{h(PASSWORDS["viewer"])}"',
        '[[users.grants]]\ndevices = ["edge-1"]\nmode = "view"',
        f'[[users]]\nname = "outsider"\norg = "other"\npassword_hash = "{h(PASSWORDS["outsider"])}"',
        '[[users.grants]]\ndevices = ["*"]\ntargets = ["*"]',
        f'[[devices]]\nid = "edge-1"\nname = "Edge 1"\norg = "demo"\nsecret_hash = "{h(SECRETS["edge-1"])}"',
        f'[[devices]]\nid = "edge-2"\norg = "demo"\nsecret_hash = "{h(SECRETS["edge-2"])}"',
        f'[[devices]]\nid = "far-1"\norg = "other"\nsecret_hash = "{h(SECRETS["far-1"])}"',
    ]
    path = directory / "server.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class Peer:
    """A python-socketio AsyncClient on one namespace that queues what it receives."""

    def __init__(self, namespace: str, events: tuple[str, ...]) -> None:
        self.namespace = namespace
        self.sio = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        self.queues: dict[str, asyncio.Queue[Any]] = defaultdict(asyncio.Queue)
        self.connect_errors: list[Any] = []
        for ev in events:
            self.sio.on(ev, self._recorder(ev), namespace=namespace)
        self.sio.on("connect_error", self._connect_error, namespace=namespace)

    def _recorder(self, event: str):
        async def record(data: Any = None) -> None:
            self.queues[event].put_nowait(data)

        return record

    async def _connect_error(self, data: Any = None) -> None:
        self.connect_errors.append(data)

    async def connect(
        self, url: str, auth: Any, headers: dict[str, str] | None = None, transports: list[str] | None = None
    ) -> None:
        await self.sio.connect(
            url,
            auth=auth,
            headers=headers or {},
            namespaces=[self.namespace],
            transports=transports or ["websocket"],
            wait_timeout=CONNECT_WAIT_S,
        )

    async def call(self, event: str, data: Any = None) -> Any:
        if data is None:
            return await self.sio.call(event, namespace=self.namespace, timeout=WAIT_S)
        return await self.sio.call(event, data, namespace=self.namespace, timeout=WAIT_S)

    async def next(self, event: str, timeout: float = WAIT_S) -> Any:
        return await asyncio.wait_for(self.queues[event].get(), timeout)

    def pending(self, event: str) -> int:
        return self.queues[event].qsize()

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        await self.sio.shutdown()
        # The engine.io client keeps its HTTP session open after a failed
        # polling handshake; close it here so no ResourceWarning follows.
        http = getattr(self.sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()


@dataclass
class Env:
    server: Server
    http: aiohttp.ClientSession
    config_path: Path
    peers: list[Peer]

    @property
    def url(self) -> str:
        return self.server.url

    async def login_raw(self, body: Any, *, content_type: str = "application/json") -> aiohttp.ClientResponse:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        async with self.http.post(self.url + "/api/login", data=data, headers={"Content-Type": content_type}) as r:
            await r.read()
            return r

    async def token(self, user: str = "operator") -> str:
        async with self.http.post(self.url + "/api/login", json={"username": user, "password": PASSWORDS[user]}) as r:
            assert r.status == 200, await r.text()
            return (await r.json())["token"]

    async def client(self, user: str = "operator", **kw: Any) -> Peer:
        peer = Peer("/client", CLIENT_EVENTS)
        self.peers.append(peer)
        await peer.connect(self.url, {"token": await self.token(user)}, **kw)
        return peer

    async def agent(self, device_id: str = "edge-1", targets: list[dict] | None = None) -> Peer:
        peer = Peer("/agent", AGENT_EVENTS)
        self.peers.append(peer)
        await peer.connect(self.url, {"device_id": device_id, "secret": SECRETS[device_id]})
        if targets is None:
            targets = [
                {
                    "id": "plc-runtime",
                    "name": "plc-runtime",
                    "kind": "container",
                    "label": "plc-runtime (busybox)",
                    "state": "running",
                },
                {"id": "historian", "kind": "container"},
                {"id": "host", "kind": "host", "label": "host shell (no Docker)"},
            ]
        ack = await peer.call("agent:inventory", {"targets": targets})
        assert ack == {"ok": True}, ack
        return peer

    def peer(self, namespace: str) -> Peer:
        peer = Peer(namespace, CLIENT_EVENTS if namespace == "/client" else AGENT_EVENTS)
        self.peers.append(peer)
        return peer


@pytest.fixture
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    """The server; `@pytest.mark.server_config(key=value, ...)` overrides [server] keys."""
    marker = request.node.get_closest_marker("server_config")
    path = write_config(tmp_path, **(marker.kwargs if marker else {}))
    server = Server(config_mod.load(path))
    await server.start()
    http = aiohttp.ClientSession()
    e = Env(server, http, path, [])
    try:
        yield e
    finally:
        for p in e.peers:
            await p.close()
        await http.close()
        await e.server.stop()  # a test may have replaced it (a restarted server)
        await server.stop()  # idempotent


async def open_session(client: Peer, device_id: str = "edge-1", target_id: str = "plc-runtime", **extra: Any) -> dict:
    return await client.call(
        "session:open", {"device_id": device_id, "target_id": target_id, "kind": "terminal", **extra}
    )


OFFER_SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
ANSWER_SDP = OFFER_SDP.replace("o=- 1 2", "o=- 3 4")
CANDIDATE = {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
