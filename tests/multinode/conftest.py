"""Two server nodes (in this process) on one real redis-server, with real
Socket.IO clients (tests/server/conftest.py's Peer) on either node.

Both nodes load the same config (same signing key, users and devices), as a
deployment's nodes do; each listens on its own port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from porthole.server import config as config_mod
from porthole.server.app import Server
from tests.server.conftest import CLIENT_EVENTS, PASSWORDS, SECRETS, Peer, write_config
from tests.support.redisserver import RedisServer

TARGETS = [{"id": "plc-runtime", "kind": "container"}, {"id": "host", "kind": "host"}]


@dataclass
class Nodes:
    servers: list[Server]
    redis: RedisServer
    http: aiohttp.ClientSession
    config_path: Path
    peers: list[Peer]

    def url(self, i: int) -> str:
        return self.servers[i].url

    async def login(self, i: int, user: str = "operator", password: str | None = None) -> aiohttp.ClientResponse:
        body = {"username": user, "password": password if password is not None else PASSWORDS[user]}
        async with self.http.post(self.url(i) + "/api/login", json=body) as r:
            await r.read()
            return r

    async def token(self, i: int, user: str = "operator") -> str:
        async with self.http.post(
            self.url(i) + "/api/login", json={"username": user, "password": PASSWORDS[user]}
        ) as r:
            assert r.status == 200, await r.text()
            return (await r.json())["token"]

    async def client(self, i: int, user: str = "operator", token: str | None = None) -> Peer:
        peer = Peer("/client", CLIENT_EVENTS)
        self.peers.append(peer)
        await peer.connect(self.url(i), {"token": token or await self.token(i, user)})
        return peer

    async def agent(self, i: int, device_id: str = "edge-1") -> Peer:
        peer = Peer("/agent", ("webrtc:offer", "webrtc:ice", "webrtc:disconnect", "server:draining"))
        self.peers.append(peer)
        await peer.connect(self.url(i), {"device_id": device_id, "secret": SECRETS[device_id]})
        ack = await peer.call("agent:inventory", {"targets": TARGETS})
        assert ack == {"ok": True}, ack
        return peer


async def start_node(config_path: Path) -> Server:
    server = Server(config_mod.load(config_path))
    await server.start()
    return server


@pytest.fixture
async def nodes(tmp_path: Path, redis_server: RedisServer) -> AsyncIterator[Nodes]:
    # A lost socket's sessions wait 1 s for a re-announce (rebind.py), not a minute.
    path = write_config(tmp_path, redis_url=redis_server.url, signaling_grace_s=1)
    servers = [await start_node(path), await start_node(path)]
    http = aiohttp.ClientSession()
    n = Nodes(servers, redis_server, http, path, [])
    try:
        yield n
    finally:
        for p in n.peers:
            await p.close()
        await http.close()
        for s in n.servers:
            await s.stop()
