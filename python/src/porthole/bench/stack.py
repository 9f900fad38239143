"""The real product on this machine, as `make run` starts it: `porthole server`
and `porthole agent` (which launches porthole-core) as subprocesses with a
config from porthole.devconfig, and a Socket.IO `/client` that opens sessions
the way the browser page does (login, session:open, webrtc:offer, trickle)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import socketio

from porthole import devconfig
from porthole.bench import coturn, procstat
from porthole.bench.peer import PeerProcess
from porthole.errors import PortholeError
from porthole.server import passwords

# Server and agent start in about a second; this trips only on a broken install.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0
# Answer after the offer, channel open and prompt after the answer: milliseconds
# normally, seconds with 200 sessions starting on 2 cores.
SIGNAL_TIMEOUT_S = 30.0
# The bench opens up to 200 sessions as one user on one device.
MAX_SESSIONS = 512
CONTAINER_PATTERN = "porthole-bench-*"
# A second user of the bench's org who may view every target: the observers of a shared
# terminal (sections/observers.py); an owner cannot join their own session.
WATCHER = "bench-watcher"
# The agent reports new containers within its inventory interval (5 s by default).
INVENTORY_TIMEOUT_S = 30.0


@dataclass
class Session:
    id: str
    peer: str
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    answer: asyncio.Future | None = None
    # Setup split, seconds: offer sent → answer received (signaling, here),
    # answer applied → channel open (ICE/DTLS), open → first prompt byte (exec).
    signaling_s: float = 0.0
    ice_dtls_s: float = 0.0
    exec_s: float = 0.0
    open_s: float = 0.0  # session:open round trip (authorization, grant), before the offer
    # The socket that opened it (the bench's user's, or the watcher's): it also closes it.
    sio: socketio.AsyncClient | None = field(default=None, repr=False)


class Stack:
    """Server + agent subprocesses in a temporary folder, and a signaling client."""

    def __init__(self, workdir: Path, core: str, iface: str, peer: PeerProcess) -> None:
        self.workdir = workdir
        self.core = core
        self.iface = iface
        self.peer = peer
        self.server: subprocess.Popen | None = None
        self.agent: subprocess.Popen | None = None
        self.sio: socketio.AsyncClient | None = None
        self.watcher_sio: socketio.AsyncClient | None = None  # WATCHER's socket, at its first join
        self._watcher_password = secrets.token_urlsafe(24)
        self.sessions: dict[str, Session] = {}
        self.errors: dict[str, list[dict]] = defaultdict(list)
        self._tasks: set[asyncio.Task] = set()
        self.url = ""
        self.device_id = ""
        self.turn: coturn.Coturn | None = None  # a local coturn, when Debian's is installed
        self._login_as: dict[str, str] = {}

    # ------------------------------------------------------------ processes

    async def start(self) -> None:
        port = _free_port()
        # A device id of its own: an agent reconciles at start by killing every shell marked
        # with its device id, and tests or benches of other worktrees on this machine run
        # agents too (the default "edge-1" would have theirs kill the bench's shells).
        device = f"bench-{secrets.token_hex(4)}"
        dc = devconfig.generate(self.workdir / "dev", device_id=device, host="127.0.0.1", port=port)
        server_toml = dc.server_config.read_text()
        limit = "max_sessions_per_user = 16"
        if limit not in server_toml:
            raise PortholeError("internal", f"devconfig's server.toml no longer has {limit!r}; update the bench")
        bench_server = dc.directory / "server-bench.toml"
        server_toml = server_toml.replace(limit, f"max_sessions_per_user = {MAX_SESSIONS}")
        server_toml += _watcher_toml(dc.device_id, self._watcher_password)
        ip = os.environ.get("PORTHOLE_TEST_IP", "")
        if coturn.available() and ip:
            # A relay next to the direct path (the relay section): coturn on the bench's own address.
            turn_dir = self.workdir / "turn"
            turn_dir.mkdir(exist_ok=True)
            self.turn = coturn.start_coturn(turn_dir, ip, allowed_peers=(ip,), relay_to_self=True)
            server_toml += (
                f'\n[server.turn]\nurls = ["{self.turn.urls[0]}"]\nsecret_file = "{turn_dir / "turn.secret"}"\n'
            )
        bench_server.write_text(server_toml)
        agent_cfg = dc.directory / "agent-bench.toml"
        agent_cfg.write_text(f"""
[agent]
device_id = "{dc.device_id}"
server_url = "{dc.url}"
secret_file = "{dc.device_secret_file.name}"
grant_public_key = "{dc.public_key.name}"
max_sessions = {MAX_SESSIONS}
# Off: a round's clients drop their peers, and detached shells would hold slots (and rings).
resume_grace_s = 0

[targets]
containers = ["{CONTAINER_PATTERN}"]

[sidecar]
binary = "{self.core}"
socket = "core.sock"
ice_interfaces = ["{self.iface}"]
# A vanished peer's session ends ~30 s after its last packet (pion), not 30 s + a minute
# of waiting for an ICE restart nobody will make (the soak counts them within its hold).
ice_restart_wait_s = 1

[admin]
socket = "admin.sock"
""")
        self.url, self.device_id = dc.url, dc.device_id
        self.server = self._spawn(["server", "--config", str(bench_server)], "server.log")
        deadline = time.monotonic() + START_TIMEOUT_S
        while not await _healthy(self.url):
            self._check_alive(self.server, "server", deadline)
            await asyncio.sleep(0.1)
        self.agent = self._spawn(["agent", "--config", str(agent_cfg)], "agent.log")
        while "connected to server" not in self.log("agent.log"):
            self._check_alive(self.agent, "agent", deadline)
            await asyncio.sleep(0.1)
        await self._connect_client(dc.username, dc.password)

    def _spawn(self, args: list[str], log: str) -> subprocess.Popen:
        with (self.workdir / log).open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "-m", "porthole", *args], stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir
            )

    def log(self, name: str) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace") if path.exists() else ""

    def _check_alive(self, proc: subprocess.Popen, name: str, deadline: float) -> None:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise PortholeError("internal", f"{name} did not start:\n{self.log(name + '.log')[-3000:]}")

    @property
    def agent_pid(self) -> int:
        assert self.agent is not None
        return self.agent.pid

    @property
    def sidecar_pid(self) -> int:
        kids = [pid for pid, comm in procstat.children(self.agent_pid) if comm.startswith("porthole-core")]
        if len(kids) != 1:
            raise PortholeError("internal", f"expected one porthole-core under the agent, found {kids}")
        return kids[0]

    async def stop(self) -> None:
        for sio in (self.watcher_sio, self.sio):
            if sio is not None:
                await sio.disconnect()
        if self.turn is not None:
            self.turn.stop()
        for proc in (self.agent, self.server):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(asyncio.to_thread(proc.wait), STOP_TIMEOUT_S)
                except TimeoutError:
                    proc.kill()

    # ------------------------------------------------------------ signaling client

    async def _login(self, login_as: dict[str, str] | None = None) -> str:
        body = login_as or self._login_as
        async with aiohttp.ClientSession() as http, http.post(self.url + "/api/login", json=body) as r:
            body = await r.json()
            if r.status != 200:
                raise PortholeError("internal", f"login failed: {body}")
        return body["token"]

    async def refresh_login(self) -> None:
        """Logs in again and extends the socket's authority (`auth:refresh`), as the
        page does before its token expires (the server's token_ttl_s, 15 minutes by
        default): a run longer than that (the soak) calls it now and then."""
        await self._call("auth:refresh", {"token": await self._login()})

    async def _connect_client(self, username: str, password: str) -> None:
        self._login_as = {"username": username, "password": password}
        self.sio = await self._client(self._login_as)

    async def _client(self, login_as: dict[str, str]) -> socketio.AsyncClient:
        """A logged-in `/client` socket whose answers, candidates and errors reach self.sessions."""
        token = await self._login(login_as)
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("webrtc:answer", self._on_answer, namespace="/client")
        sio.on("webrtc:ice", self._on_ice, namespace="/client")
        sio.on("webrtc:error", self._on_error, namespace="/client")
        await sio.connect(
            self.url, namespaces=["/client"], auth={"token": token}, transports=["websocket"], wait_timeout=10
        )
        return sio

    async def _watcher(self) -> socketio.AsyncClient:
        if self.watcher_sio is None:
            self.watcher_sio = await self._client({"username": WATCHER, "password": self._watcher_password})
        return self.watcher_sio

    async def _on_answer(self, data: dict) -> None:
        s = self.sessions.get(data.get("session_id", ""))
        if s is not None and s.answer is not None and not s.answer.done():
            s.answer.set_result((time.monotonic(), data["sdp"]))

    async def _on_ice(self, data: dict) -> None:
        s = self.sessions.get(data.get("session_id", ""))
        if s is None:
            return
        if data.get("candidate"):
            task = asyncio.create_task(self._forward(s, data["candidate"]))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _forward(self, s: Session, candidate: dict) -> None:
        # Candidates may only follow the answer into the peer; they come right after it.
        await asyncio.wait_for(s.answered.wait(), SIGNAL_TIMEOUT_S)
        await self.peer.request("candidate", peer=s.peer, candidate=candidate)

    async def _on_error(self, data: dict) -> None:
        sid = str(data.get("session_id", ""))
        self.errors[sid].append(data)
        s = self.sessions.get(sid)
        if s is not None and s.answer is not None and not s.answer.done():
            s.answer.set_exception(PortholeError(data.get("code", "internal"), data.get("message", "")))

    async def _call(self, event: str, data: dict | None, sio: socketio.AsyncClient | None = None) -> dict:
        sio = sio or self.sio
        assert sio is not None
        ack = await sio.call(event, data, namespace="/client", timeout=SIGNAL_TIMEOUT_S)
        if not ack or not ack.get("ok"):
            err = (ack or {}).get("error", {})
            raise PortholeError(err.get("code", "internal"), f"{event}: {err.get('message', ack)}")
        return ack

    async def wait_target(self, target_id: str) -> None:
        """Waits until the server lists target_id on the device (the agent reports
        its inventory every few seconds)."""
        deadline = time.monotonic() + INVENTORY_TIMEOUT_S
        while True:
            ack = await self._call("devices:list", None)
            if any(
                t["id"] == target_id for d in ack["devices"] if d["id"] == self.device_id for t in d.get("targets", [])
            ):
                return
            if time.monotonic() > deadline:
                raise PortholeError("internal", f"the agent never reported target {target_id}")
            await asyncio.sleep(0.2)

    async def open_terminal(
        self,
        container: str,
        *,
        binary: bool = False,
        relay: bool = False,
        files: bool = False,
        join: dict[str, str] | None = None,
        flood: bool = False,
    ) -> Session:
        """Opens a terminal the way the page does and returns it once the prompt arrived,
        with the setup split measured. relay: the client uses the TURN relay only (its
        ICE servers come from the session:open ack, so it is created after it). files: the
        client opens a `files` channel too (file transfer, sections/files.py). join:
        {session_id, token} of a shared session (share_link): the session opened, by
        WATCHER's socket, is a viewer of that one (docs/protocol.md §2f), ready once the
        scrollback arrived. flood: the client's peer will receive floods (the throughput
        section): its UDP sockets get a large receive buffer (core-go benchpeer/rcvbuf.go)."""
        protocol = "porthole-binary" if binary else ""
        offer = None if relay else await self.peer.request("new", protocol=protocol, files=files, flood=flood)
        t_open = time.monotonic()
        req: dict[str, object] = {
            "device_id": self.device_id,
            "target_id": container,
            "kind": "terminal",
            "cols": 80,
            "rows": 24,
        }
        sio = self.sio
        if join is not None:
            req["join"] = join
            sio = await self._watcher()
        ack = await self._call("session:open", req, sio)
        open_s = time.monotonic() - t_open
        if offer is None:
            if self.turn is None:
                raise PortholeError("internal", "no relay: Debian's coturn (turnserver) is not installed")
            offer = await self.peer.request("new", protocol=protocol, ice_servers=ack["ice_servers"], relay=True)
        s = Session(id=ack["session_id"], peer=offer["peer"], sio=sio)
        s.open_s = open_s
        s.answer = asyncio.get_running_loop().create_future()
        self.sessions[s.id] = s
        t0 = time.monotonic()
        await self._call("webrtc:offer", {"session_id": s.id, "type": "offer", "sdp": offer["sdp"]}, sio)
        t1, answer_sdp = await asyncio.wait_for(s.answer, SIGNAL_TIMEOUT_S)
        s.signaling_s = t1 - t0
        await self.peer.request("answer", peer=s.peer, sdp=answer_sdp)
        s.answered.set()
        ready = await self.peer.request("ready", peer=s.peer, timeout_s=SIGNAL_TIMEOUT_S)
        s.ice_dtls_s = ready["ice_dtls_us"] / 1e6
        s.exec_s = ready["exec_us"] / 1e6
        if relay and self.turn is not None and self.turn.allocations(s.id) < 1:
            raise PortholeError("internal", f"session {s.id} did not allocate on the relay: not a relayed figure")
        return s

    async def share_link(self, owner: Session) -> dict[str, str]:
        """A one-time link to watch owner's session (`share:invite` without a user): the `join`
        of a session:open, which WATCHER uses (a link is for any other user of the org who may
        see the target; never the owner's)."""
        ack = await self._call("share:invite", {"session_id": owner.id})
        return {"session_id": owner.id, "token": ack["token"]}

    async def close_terminal(self, s: Session) -> None:
        """Ends the session the way the page's close button does, and closes the client peer."""
        self.sessions.pop(s.id, None)
        with contextlib.suppress(PortholeError):  # already over
            await self._call("webrtc:disconnect", {"session_id": s.id, "reason": "user_closed"}, s.sio)
        await self.peer.request("close", peer=s.peer)


def _watcher_toml(device_id: str, password: str) -> str:
    """WATCHER in the server's config: the bench's org, view mode on every target of the device."""
    return f"""
[[users]]
name = "{WATCHER}"
org = "{devconfig.ORG}"
password_hash = "{passwords.hash_password(password)}"

[[users.grants]]
devices = ["{device_id}"]
targets = ["*"]
kinds = ["terminal"]
mode = "view"
"""


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _healthy(url: str) -> bool:
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(url + "/healthz", timeout=aiohttp.ClientTimeout(total=1)) as r,
        ):
            return r.status == 200
    except (aiohttp.ClientError, TimeoutError, OSError):
        return False


def environment_ok() -> None:
    if not os.environ.get("PORTHOLE_TEST_IFACE"):
        raise PortholeError("internal", "run inside scripts/in-netns.sh (make bench does)")
