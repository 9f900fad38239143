"""Signaling across server nodes: offer → answer with the browser and the device
on the same node, on different nodes (through Redis), and on one node alone;
sessions opened per second by one node and by two."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from porthole import devconfig
from porthole.bench.context import Context
from porthole.bench.figures import Figure
from porthole.bench.peer import REPO
from porthole.bench.redisserver import RedisServer, _free_port, start_redis
from porthole.bench.sections import notes, section
from porthole.errors import PortholeError

KEY = "multinode"
START_TIMEOUT_S = 30.0
WAIT_S = 10.0
TARGET = "bench-target"
# Valid SDP to the server's checks; the stub device answers with it at once.
SDP = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
# Each case gets this many round trips per setup_reps of the run (3 in --quick, 30 in a full run).
REPS_PER_SETUP_REP = 10
# Sessions per second: this many clients open sessions one after another, for RATE_ROUND_S
# per setup_rep (a round), the one-node and two-node cases taking turns, ROUNDS rounds each.
RATE_CLIENTS = 8
RATE_ROUND_S = 0.5
ROUNDS = 3


@section(
    KEY,
    "Signaling across server nodes",
    """\
Two `porthole server` processes share one redis-server (`server.redis_url`,
append-only file on, on loopback) and a third runs alone (no Redis). A stub
device connects to a node's `/agent` and answers every `webrtc:offer` at once
with a fixed SDP (no porthole-core, no ICE: the figure is the signaling path
alone); Socket.IO clients log in and connect to `/client`. Each round trip:
`session:open` (not timed), then **offer → answer** = `webrtc:offer` emitted →
`webrtc:answer` received by the client (client → server → device → server →
client), timed in the client, then `webrtc:disconnect`. Cases, taking turns:
the client on the device's node (**same node**: every emit still goes through
Redis pub/sub, which python-socketio's manager always publishes to), on the
other node (**other node**: the emit reaches the device through Redis), and
the single in-memory node for reference. **Sessions per second**: 8 clients
each open, offer and close sessions one after another as fast as they are
answered, all on node 1 with the device there (**one node**), or 4 on each
node, each to a device on its own node (**two nodes**); the count of answered
offers over the round's length, rounds taking turns.""",
)
async def run(ctx: Context) -> list[Figure]:
    reps = max(3, ctx.params.setup_reps * REPS_PER_SETUP_REP)
    work = ctx.workdir / "multinode"
    work.mkdir(parents=True, exist_ok=True)
    redis = await asyncio.to_thread(start_redis, work / "redis")
    procs: list[subprocess.Popen] = []
    conns: list[socketio.AsyncClient] = []
    try:
        dc, shared_cfg, alone_cfg = _configs(work, redis)
        urls = []
        for i, cfg in enumerate((shared_cfg, shared_cfg, alone_cfg)):
            port = _free_port("127.0.0.1")
            procs.append(_spawn_server(cfg, port, work / f"node{i + 1}.log"))
            urls.append(f"http://127.0.0.1:{port}")
        for u, p in zip(urls, procs, strict=True):
            await _wait_healthy(u, p)
        secret = dc.device_secret_file.read_text().strip()
        conns += [
            await _stub_device(urls[0], dc.device_id, secret),
            await _stub_device(urls[1], "second", secret),
            await _stub_device(urls[2], "alone", secret),
        ]
        token = {u: await _login(u, dc.username, dc.password) for u in urls}
        same = await _client(urls[0], token[urls[0]])  # the device is on node 1
        other = await _client(urls[1], token[urls[1]])
        alone = await _client(urls[2], token[urls[2]])
        conns += [same.sio, other.sio, alone.sio]
        samples: dict[str, list[float]] = {"same": [], "other": [], "alone": []}
        for _ in range(reps):
            samples["same"].append(await same.round_trip(dc.device_id))
            samples["other"].append(await other.round_trip(dc.device_id))
            samples["alone"].append(await alone.round_trip("alone"))
        half = RATE_CLIENTS // 2
        on_1 = [await _client(urls[0], token[urls[0]]) for _ in range(RATE_CLIENTS)]
        on_2 = [await _client(urls[1], token[urls[1]]) for _ in range(half)]
        conns += [c.sio for c in on_1 + on_2]
        round_s = RATE_ROUND_S * ctx.params.setup_reps
        one_node: list[float] = []
        two_nodes: list[float] = []
        for _ in range(ROUNDS):
            one_node.append(await _rate([(c, dc.device_id) for c in on_1], round_s))
            split = [(c, dc.device_id) for c in on_1[:half]] + [(c, "second") for c in on_2]
            two_nodes.append(await _rate(split, round_s))
    finally:
        for c in conns:
            await c.disconnect()
        for p in procs:
            p.terminate()
        for p in procs:
            await asyncio.to_thread(_reap, p)
        await asyncio.to_thread(redis.stop)
    n = f"{reps} round trips per case, one at a time, the cases taking turns"
    return [
        Figure.of(KEY, "offer → answer, client and device on the same node", "porthole", "ms", samples["same"], n),
        Figure.of(KEY, "offer → answer, client and device on different nodes", "porthole", "ms", samples["other"], n),
        Figure.of(KEY, "offer → answer, one node alone (no Redis)", "reference", "ms", samples["alone"], n),
        Figure.of(
            KEY,
            "sessions opened per second, one node",
            "porthole",
            "sessions/s",
            one_node,
            f"{RATE_CLIENTS} clients on node 1, {ROUNDS} rounds of {round_s:g} s",
            better="higher",
        ),
        Figure.of(
            KEY,
            "sessions opened per second, two nodes",
            "porthole",
            "sessions/s",
            two_nodes,
            f"{half} clients on each node, {ROUNDS} rounds of {round_s:g} s",
            better="higher",
        ),
    ]


@notes(KEY)
def _notes(figures: list[Figure]) -> list[str]:
    by = {f.name: f for f in figures}
    same = by.get("offer → answer, client and device on the same node")
    other = by.get("offer → answer, client and device on different nodes")
    alone = by.get("offer → answer, one node alone (no Redis)")
    one = by.get("sessions opened per second, one node")
    two = by.get("sessions opened per second, two nodes")
    out = []
    if same and other and alone:
        out.append(
            f"Through Redis, a signaling round trip takes {other.median:.1f} ms across nodes and "
            f"{same.median:.1f} ms on one node, against {alone.median:.1f} ms for a node alone: "
            "what a user waits for before ICE starts grows by that difference, once per session."
        )
    if one and two:
        out.append(
            f"Sessions opened per second: {one.median:.0f} by one node, {two.median:.0f} by two "
            "(all processes share this machine's cores, so two nodes gain only what one node left idle)."
        )
    return out


def _configs(work: Path, redis: RedisServer) -> tuple[devconfig.DevConfig, Path, Path]:
    dc = devconfig.generate(work / "dev", device_id="bench-mn")
    text = dc.server_config.read_text()
    # Devices for node 2 and the node alone (same secret): their own ids keep the cases apart.
    hash_line = next(line for line in text.splitlines() if line.startswith("secret_hash"))
    alone = text + "".join(f'\n[[devices]]\nid = "{d}"\norg = "demo"\n{hash_line}\n' for d in ("second", "alone"))
    alone_cfg = dc.server_config.with_name("server-alone.toml")
    alone_cfg.write_text(alone)
    shared_cfg = dc.server_config.with_name("server-shared.toml")
    shared_cfg.write_text(alone.replace("[server]\n", f"[server]\nredis_url = {json.dumps(redis.url)}\n", 1))
    _grant_alone(shared_cfg)
    _grant_alone(alone_cfg)
    return dc, shared_cfg, alone_cfg


def _grant_alone(cfg: Path) -> None:
    """The operator's grant covers the device "alone" too."""
    text = cfg.read_text()
    if 'devices = ["bench-mn"]' in text:
        cfg.write_text(text.replace('devices = ["bench-mn"]', 'devices = ["bench-mn", "second", "alone"]'))


def _spawn_server(cfg: Path, port: int, log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "porthole", "server", "--config", str(cfg), "--listen", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


def _reap(p: subprocess.Popen) -> None:
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait(5)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


async def _wait_healthy(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while not await asyncio.to_thread(_healthy, url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise PortholeError("internal", f"bench server at {url} did not start (exit {proc.poll()})")
        await asyncio.sleep(0.1)


async def _stub_device(url: str, device_id: str, secret: str) -> socketio.AsyncClient:
    sio = socketio.AsyncClient(reconnection=False)

    async def on_offer(data: Any) -> None:
        await sio.emit("webrtc:answer", {"session_id": data["session_id"], "type": "answer", "sdp": SDP}, "/agent")

    sio.on("webrtc:offer", on_offer, namespace="/agent")
    await sio.connect(
        url, namespaces=["/agent"], auth={"device_id": device_id, "secret": secret}, transports=["websocket"]
    )
    ack = await sio.call("agent:inventory", {"targets": [{"id": TARGET, "kind": "container"}]}, "/agent")
    if not ack.get("ok"):
        raise PortholeError("internal", f"stub device inventory refused: {ack}")
    return sio


async def _login(url: str, user: str, password: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(url + "/api/login", json={"username": user, "password": password}) as r,
    ):
        if r.status != 200:
            raise PortholeError("internal", f"bench login at {url} failed: {r.status}")
        return (await r.json())["token"]


@dataclass
class _Client:
    sio: socketio.AsyncClient
    answers: asyncio.Queue

    async def round_trip(self, device_id: str) -> float:
        """session:open, then offer → answer (ms), then close."""
        body = {"device_id": device_id, "target_id": TARGET, "kind": "terminal"}
        ack = await self.sio.call("session:open", body, "/client", timeout=WAIT_S)
        if not ack.get("ok"):
            raise PortholeError("internal", f"bench session:open refused: {ack}")
        sid = ack["session_id"]
        t0 = time.perf_counter()
        await self.sio.emit("webrtc:offer", {"session_id": sid, "type": "offer", "sdp": SDP}, "/client")
        while (await asyncio.wait_for(self.answers.get(), WAIT_S))["session_id"] != sid:
            pass
        took = (time.perf_counter() - t0) * 1000
        await self.sio.call(
            "webrtc:disconnect", {"session_id": sid, "reason": "user_closed"}, "/client", timeout=WAIT_S
        )
        return took


async def _rate(clients: list[tuple[_Client, str]], seconds: float) -> float:
    """Answered offers per second while every client opens sessions one after another."""
    done = 0
    end = time.monotonic() + seconds

    async def loop(c: _Client, device_id: str) -> None:
        nonlocal done
        while time.monotonic() < end:
            await c.round_trip(device_id)
            done += 1

    t0 = time.monotonic()
    await asyncio.gather(*(loop(c, d) for c, d in clients))
    return done / (time.monotonic() - t0)


async def _client(url: str, token: str) -> _Client:
    sio = socketio.AsyncClient(reconnection=False)
    answers: asyncio.Queue = asyncio.Queue()
    sio.on("webrtc:answer", answers.put_nowait, namespace="/client")
    await sio.connect(url, namespaces=["/client"], auth={"token": token}, transports=["websocket"])
    return _Client(sio, answers)
