"""The whole product on this machine, as `make run` starts it but on a free
port: the real server and the real agent (with its real porthole-core),
configured by porthole.devconfig, serving containers named porthole-test-*."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from porthole import devconfig
from tests.support.hub import free_port
from tests.support.stack import REPO, core_binary, ice_iface

START_TIMEOUT_S = 30.0


@dataclass
class Stack:
    url: str
    username: str
    password: str
    device_id: str
    server: subprocess.Popen
    agent: subprocess.Popen
    logs: dict[str, Path]

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "porthole", *args], stdout=out, stderr=subprocess.STDOUT,
                                cwd=REPO)


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


async def _stop(proc: subprocess.Popen, name: str, log: Path) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.to_thread(proc.wait), 20)
        except TimeoutError:
            proc.kill()
            raise AssertionError(f"{name} did not stop on SIGTERM\n{log.read_text()[-2000:]}")


@pytest.fixture
async def stack(tmp_path) -> Stack:
    port = free_port()
    dc = devconfig.generate(tmp_path / "dev", host="127.0.0.1", port=port)
    agent_cfg = tmp_path / "dev" / "agent-test.toml"
    agent_cfg.write_text(f"""
[agent]
device_id = "{dc.device_id}"
server_url = "{dc.url}"
secret_file = "{dc.device_secret_file.name}"
grant_public_key = "{dc.public_key.name}"
inventory_interval_s = 0.5

[targets]
containers = ["porthole-test-*"]

[sidecar]
binary = "{core_binary()}"
socket = "core.sock"
ice_interfaces = ["{ice_iface()}"]
""")
    logs = {"server": tmp_path / "server.log", "agent": tmp_path / "agent.log"}
    server = _spawn(["server", "--config", str(dc.server_config)], logs["server"])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while not await asyncio.to_thread(_healthy, dc.url):
        assert server.poll() is None and loop.time() < deadline, \
            f"server did not start\n{logs['server'].read_text()[-2000:]}"
        await asyncio.sleep(0.1)
    agent = _spawn(["agent", "--config", str(agent_cfg)], logs["agent"])
    st = Stack(url=dc.url, username=dc.username, password=dc.password, device_id=dc.device_id,
               server=server, agent=agent, logs=logs)
    while "connected to server" not in st.log("agent"):
        assert agent.poll() is None and loop.time() < deadline, f"agent did not connect\n{st.log('agent')[-2000:]}"
        await asyncio.sleep(0.1)
    yield st
    await _stop(agent, "agent", logs["agent"])
    await _stop(server, "server", logs["server"])
