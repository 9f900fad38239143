"""The real product on two server nodes: a redis-server, two `porthole server`
processes on one config (devconfig's, plus `server.redis_url`), each on its own
port, and one real `porthole agent` (with its porthole-core) given both nodes'
URLs. The device offers the test's containers (porthole-test-*, make_container)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import signal
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from porthole import devconfig
from tests.support.fullstack import _spawn, _stop
from tests.support.hub import free_port
from tests.support.redisserver import RedisServer
from tests.support.stack import core_binary, ice_iface

START_TIMEOUT_S = 30.0
TARGETS = '[targets]\ncontainers = ["porthole-test-*"]\n'


@dataclass
class Node:
    url: str
    listen: str
    log_path: Path
    proc: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def metric(self, name: str) -> float:
        """A gauge or counter of this node's GET /metrics (loopback needs no token)."""
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as r:
            text = r.read().decode()
        m = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.M)
        assert m, f"{name} not in /metrics"
        return float(m.group(1))


@dataclass
class Cluster:
    dc: devconfig.DevConfig
    redis: RedisServer
    nodes: list[Node]
    agent_log: Path
    agent_cfg: Path
    agent: subprocess.Popen | None = None
    stopped: list[str] = field(default_factory=list)

    def agent_text(self) -> str:
        return self.agent_log.read_text(errors="replace")

    async def start_node(self, i: int) -> Node:
        n = self.nodes[i]
        n.proc = _spawn(
            ["server", "--config", str(self.dc.server_config), "--listen", n.listen], n.log_path, append=True
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while not await asyncio.to_thread(_healthy, n.url):
            assert n.proc.poll() is None and loop.time() < deadline, f"node {i} did not start\n{n.log()[-2000:]}"
            await asyncio.sleep(0.1)
        return n

    async def start_agent(self) -> None:
        self.agent = _spawn(["agent", "--config", str(self.agent_cfg)], self.agent_log)
        await self.wait_agent_on(0)

    async def wait_agent_on(self, i: int, *, since: int = 0, timeout: float = START_TIMEOUT_S) -> float:
        """Waits until the agent's log (from offset `since`) says it connected to node i; how long it took."""
        needle = f"connected to server {self.nodes[i].url}"
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while needle not in self.agent_text()[since:]:
            assert self.agent is not None and self.agent.poll() is None, f"agent exited\n{self.agent_text()[-2000:]}"
            assert loop.time() < t0 + timeout, f"agent not on node {i + 1} within {timeout}s\n{self.agent_text()}"
            await asyncio.sleep(0.05)
        return loop.time() - t0

    async def stop(self) -> None:
        if self.agent is not None:
            await _stop(self.agent, "agent", self.agent_log)
        for n in self.nodes:
            if n.proc is not None:
                await _stop(n.proc, "server", n.log_path)
        self.redis.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


async def start_cluster(
    tmp: Path,
    redis: RedisServer,
    *,
    reconnect_delay_s: float,
    reconnect_max_s: float,
    targets: str = TARGETS,
    agent_extra: str = "",
    server_extra: str = "",
) -> Cluster:
    """targets replaces the agent's [targets] TOML; agent_extra is appended to its config (a [[screens]]);
    server_extra to the nodes' config (more [[users]])."""
    ports = [free_port(), free_port()]
    # A device id of its own: an agent with the same id starting elsewhere on this machine would
    # take this one's shells for its own leftovers and kill them (agent/reconcile.py).
    dc = devconfig.generate(tmp / "dev", host="127.0.0.1", port=ports[0], device_id=f"mn-{secrets.token_hex(4)}")
    text = dc.server_config.read_text()
    assert "[server]\n" in text
    text = text.replace("[server]\n", f"[server]\nredis_url = {json.dumps(redis.url)}\n", 1)
    dc.server_config.write_text(text + server_extra)
    nodes = [Node(f"http://127.0.0.1:{p}", f"127.0.0.1:{p}", tmp / f"node{i + 1}.log") for i, p in enumerate(ports)]
    agent_cfg = tmp / "dev" / "agent-test.toml"
    agent_cfg.write_text(
        f"""
[agent]
device_id = "{dc.device_id}"
server_url = {json.dumps([n.url for n in nodes])}
secret_file = "{dc.device_secret_file.name}"
grant_public_key = "{dc.public_key.name}"
inventory_interval_s = 0.5
resume_grace_s = 0
reconnect_delay_s = {reconnect_delay_s}
reconnect_delay_max_s = {reconnect_max_s}

[sidecar]
binary = "{core_binary()}"
socket = "core.sock"
ice_interfaces = {json.dumps([ice_iface()])}

[admin]
socket = "admin.sock"
metrics_listen = "127.0.0.1:0"

"""
        + targets
        + agent_extra
    )
    c = Cluster(dc, redis, nodes, tmp / "agent.log", agent_cfg)
    try:
        for i in range(len(nodes)):
            await c.start_node(i)
        await c.start_agent()
    except BaseException:
        await c.stop()
        raise
    return c


def sigterm(n: Node) -> None:
    assert n.proc is not None
    n.proc.send_signal(signal.SIGTERM)
