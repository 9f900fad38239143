"""The whole product on this machine, as `make run` starts it but on a free
port: the real server and the real agent (with its real porthole-core),
configured by porthole.devconfig, serving containers named porthole-test-*."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
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
    server_prefix: tuple[str, ...] = ()  # e.g. `ip netns exec cloud`: where the server runs

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace")

    def audit(self) -> list[dict]:
        """The records of the shared audit file (server and agent), oldest first."""
        path = Path(self.dc.directory) / "audit.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []

    async def wait_audit(self, event: str, timeout: float = 30, **match: object) -> dict:
        """The first audit record of ``event`` whose fields equal ``match``, once there is one."""
        async with asyncio.timeout(timeout):
            while True:
                for r in self.audit():
                    if r["event"] == event and all(r.get(k) == v for k, v in match.items()):
                        return r
                await asyncio.sleep(0.2)

    async def stop_server(self, *, kill: bool = False) -> None:
        """Stops the server as a deploy does (SIGTERM, graceful) or as a crash does (SIGKILL)."""
        if kill:
            self.server.kill()
            await asyncio.to_thread(self.server.wait)
        else:
            await _stop(self.server, "server", self.logs["server"])

    async def start_server(self) -> None:
        """Starts the server again on the same port and config; returns once it answers /healthz."""
        assert self.dc is not None and self.server.poll() is not None, "the server is still running"
        self.server = _spawn(
            ["server", "--config", str(self.dc.server_config)],
            self.logs["server"],
            append=True,
            prefix=self.server_prefix,
        )
        await _wait_healthy(self)

    async def restart_server(self, *, kill: bool = False) -> None:
        await self.stop_server(kill=kill)
        await self.start_server()

    async def stop(self) -> None:
        """Agent first, then the server; each must exit cleanly on SIGTERM."""
        if self.agent is not None:
            await _stop(self.agent, "agent", self.logs["agent"])
        await _stop(self.server, "server", self.logs["server"])


def _spawn(args: list[str], log: Path, *, append: bool = False, prefix: tuple[str, ...] = ()) -> subprocess.Popen:
    # PYTHONFAULTHANDLER: a process that does not stop is sent SIGABRT (_stop), and its
    # threads' stacks go to its log, to say where it hung.
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}
    with log.open("ab" if append else "wb") as out:
        return subprocess.Popen(
            [*prefix, sys.executable, "-m", "porthole", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=env,
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
            proc.send_signal(signal.SIGABRT)  # the stacks of its threads, to its log (_spawn)
            try:
                await asyncio.wait_for(asyncio.to_thread(proc.wait), 5)
            except TimeoutError:
                proc.kill()
            raise AssertionError(f"{name} did not stop on SIGTERM\n{log.read_text()[-6000:]}") from None


async def _wait_healthy(st: Stack) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while not await asyncio.to_thread(_healthy, st.url):
        assert st.server.poll() is None and loop.time() < deadline, f"server did not start\n{st.log('server')[-2000:]}"
        await asyncio.sleep(0.1)


DEFAULT_TARGETS = '[targets]\ncontainers = ["porthole-test-*"]\n'


async def start_stack(
    tmp_path: Path,
    *,
    targets: str = DEFAULT_TARGETS,
    agent_extra: str = "",
    server_extra: str = "",
    server_patch: tuple[tuple[str, str], ...] = (),
    agent_keys: str = "",
    host: str = "127.0.0.1",
    server_ns=None,
    agent_ns=None,
    ice_interfaces: list[str] | None = None,
    core_binary_path: str | None = None,
    sidecar_keys: str = "",
) -> Stack:
    """The real server (from devconfig, edited by server_patch (old, new) pairs, plus server_extra
    TOML) and the real agent (agent_keys
    TOML lines in its [agent] table, then targets and agent_extra TOML appended to a test agent
    config); returns once the agent is connected. server_ns / agent_ns (tests/support/topology.py)
    run them in namespaces of their own, the server listening on ``host``; porthole-core runs
    where its agent does and gathers on ``ice_interfaces`` (default: the test interface);
    ``core_binary_path`` replaces the porthole-core the agent starts (``ns.wrap(...)``: in a
    namespace of its own, behind a veth the test can take down); ``sidecar_keys``: TOML lines
    added to its [sidecar] table."""
    port = free_port()
    # A device id of its own: an agent kills the marked shells of its device id left on this host
    # at start (reconcile.py), so stacks of concurrent test runs must not share one.
    device_id = f"edge-{secrets.token_hex(4)}"
    dc = devconfig.generate(tmp_path / "dev", device_id=device_id, host=host, port=port)
    text = dc.server_config.read_text()
    for old, new in server_patch:
        assert old in text, f"devconfig's server.toml no longer has {old!r}"
        text = text.replace(old, new, 1)
    dc.server_config.write_text(text + server_extra)
    agent_cfg = tmp_path / "dev" / "agent-test.toml"
    agent_cfg.write_text(
        f"""
[agent]
device_id = "{dc.device_id}"
server_url = "{dc.url}"
secret_file = "{dc.device_secret_file.name}"
grant_public_key = "{dc.public_key.name}"
inventory_interval_s = 0.5
"""
        # A server in a test namespace is reached over plain http on the test's private network.
        + ("allow_insecure_http = true\n" if host != "127.0.0.1" else "")
        + agent_keys
        # Resume off (a lost peer ends the shell) unless a test asks: tests/resilience/test_resume.py.
        + ("" if "resume_grace_s" in agent_keys else "resume_grace_s = 0\n")
        + f"""
[sidecar]
binary = "{core_binary_path or core_binary()}"
socket = "core.sock"
ice_interfaces = {json.dumps(ice_interfaces or [ice_iface()])}
{sidecar_keys}
"""
        + targets
        + agent_extra
    )
    logs = {"server": tmp_path / "server.log", "agent": tmp_path / "agent.log"}
    server_prefix = tuple(server_ns.cmd()) if server_ns is not None else ()
    st = Stack(
        url=dc.url,
        username=dc.username,
        password=dc.password,
        device_id=dc.device_id,
        server=_spawn(["server", "--config", str(dc.server_config)], logs["server"], prefix=server_prefix),
        agent=None,
        logs=logs,
        dc=dc,
        server_prefix=server_prefix,
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    try:
        await _wait_healthy(st)
        st.agent = _spawn(
            ["agent", "--config", str(agent_cfg)],
            logs["agent"],
            prefix=tuple(agent_ns.cmd()) if agent_ns is not None else (),
        )
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
