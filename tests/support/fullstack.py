"""The whole product on this machine, as `make run` starts it but on a free
port: the real server and the real agent (with its real porthole-core),
configured by porthole.devconfig, serving containers named porthole-test-*."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
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
    agent: subprocess.Popen | None
    logs: dict[str, Path]
    dc: devconfig.DevConfig

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")

    async def stop(self) -> None:
        """Agent first, then the server; each must exit cleanly on SIGTERM."""
        if self.agent is not None:
            await _stop(self.agent, "agent", self.logs["agent"])
        await _stop(self.server, "server", self.logs["server"])


def _spawn(args: list[str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "porthole", *args], stdout=out, stderr=subprocess.STDOUT, cwd=REPO
        )


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
            raise AssertionError(f"{name} did not stop on SIGTERM\n{log.read_text()[-2000:]}") from None


DEFAULT_TARGETS = '[targets]\ncontainers = ["porthole-test-*"]\n'


async def start_stack(
    tmp_path: Path, *, targets: str = DEFAULT_TARGETS, agent_extra: str = "", server_extra: str = ""
) -> Stack:
    """The real server (from devconfig, plus server_extra TOML) and the real agent (targets and
    agent_extra TOML appended to a test agent config); returns once the agent is connected."""
    port = free_port()
    dc = devconfig.generate(tmp_path / "dev", host="127.0.0.1", port=port)
    if server_extra:
        dc.server_config.write_text(dc.server_config.read_text() + server_extra)
    agent_cfg = tmp_path / "dev" / "agent-test.toml"
    agent_cfg.write_text(
        f"""
[agent]
device_id = "{dc.device_id}"
server_url = "{dc.url}"
secret_file = "{dc.device_secret_file.name}"
grant_public_key = "{dc.public_key.name}"
inventory_interval_s = 0.5

[sidecar]
binary = "{core_binary()}"
socket = "core.sock"
ice_interfaces = ["{ice_iface()}"]

"""
        + targets
        + agent_extra
    )
    logs = {"server": tmp_path / "server.log", "agent": tmp_path / "agent.log"}
    st = Stack(
        url=dc.url,
        username=dc.username,
        password=dc.password,
        device_id=dc.device_id,
        server=_spawn(["server", "--config", str(dc.server_config)], logs["server"]),
        agent=None,
        logs=logs,
        dc=dc,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    try:
        while not await asyncio.to_thread(_healthy, dc.url):
            assert st.server.poll() is None and loop.time() < deadline, (
                f"server did not start\n{st.log('server')[-2000:]}"
            )
            await asyncio.sleep(0.1)
        st.agent = _spawn(["agent", "--config", str(agent_cfg)], logs["agent"])
        while "connected to server" not in st.log("agent"):
            assert st.agent.poll() is None and loop.time() < deadline, (
                f"agent did not connect\n{st.log('agent')[-2000:]}"
            )
            await asyncio.sleep(0.1)
    except BaseException:
        await st.stop()
        raise
    return st


@pytest.fixture
async def stack(tmp_path) -> AsyncIterator[Stack]:
    st = await start_stack(tmp_path)
    yield st
    await st.stop()
