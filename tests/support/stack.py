"""Fixtures that run the real agent (a subprocess, which launches the real
porthole-core) against the AgentHub, with aiortc clients as the remote peers."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from porthole import grant
from tests.support.hub import AgentHub
from tests.support.rtc_client import TerminalClient

REPO = Path(__file__).resolve().parents[2]
# Per test process: an agent that starts kills the shells of its device it does not know
# (reconcile.py), so runs of the suite side by side on one machine must not share one.
DEVICE_ID = f"edge-test-{os.getpid()}"
# Agent start: Python import + sidecar start + Socket.IO connect; seconds on a busy 2-core machine.
AGENT_START_TIMEOUT_S = 30.0


def core_binary() -> str:
    path = os.environ.get("PORTHOLE_CORE", str(REPO / "bin" / "porthole-core"))
    assert os.access(path, os.X_OK), f"porthole-core not built at {path}: run `make core`"
    return path


def ice_iface() -> str:
    iface = os.environ.get("PORTHOLE_TEST_IFACE")
    assert iface, "PORTHOLE_TEST_IFACE unset: run the tests through scripts/in-netns.sh (make test)"
    return iface


@dataclass
class AgentProcess:
    hub: AgentHub
    key: Ed25519PrivateKey
    proc: subprocess.Popen
    log_path: Path
    device_id: str = DEVICE_ID
    clients: list[TerminalClient] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def sign(self, target_id: str, *, session_id: str | None = None, **kw) -> tuple[str, str]:
        sid = session_id or "s_" + secrets.token_urlsafe(12)
        claims: dict[str, Any] = dict(
            session_id=sid, user="alice", org="acme", device_id=self.device_id, target_id=target_id
        )
        claims.update(kw)
        return sid, grant.sign(self.key, **claims)

    async def offer(self, client: TerminalClient, sid: str, token: str, *, cols=80, rows=24, sdp=None) -> None:
        self.clients.append(client)
        sdp = sdp if sdp is not None else await client.offer()
        await self.hub.send(
            "webrtc:offer", {"session_id": sid, "type": "offer", "sdp": sdp, "grant": token, "cols": cols, "rows": rows}
        )

    async def open_terminal(self, target_id: str, *, binary=False, cols=80, rows=24) -> tuple[str, TerminalClient]:
        """Signs a good grant, offers, applies the answer and waits for the channel to open."""
        client = TerminalClient(binary=binary)
        sid, token = self.sign(target_id)
        await self.offer(client, sid, token, cols=cols, rows=rows)
        try:
            answer = await self.hub.wait_event(sid, "webrtc:answer", timeout=15)
        except TimeoutError:
            raise AssertionError(f"no answer; agent said {self.hub.events[sid]!r}\n{self.log()[-3000:]}") from None
        await client.accept(answer["sdp"])
        async with asyncio.timeout(20):
            await client.opened.wait()
        return sid, client


def write_agent_config(tmp: Path, hub_url: str, secret: str, public_pem: bytes, **targets) -> Path:
    """targets: containers, host_shell, host_shell_command, user, extra_toml; core_binary and ice_interfaces
    (porthole-core started elsewhere, e.g. in a namespace of its own: tests/support/topology.py)."""
    (tmp / "device.secret").write_text(secret)
    (tmp / "grant.pub.pem").write_bytes(public_pem)
    containers = targets.get("containers", ["porthole-test-*"])
    host_shell = "true" if targets.get("host_shell") else "false"
    user_line = f'user = "{targets["user"]}"' if "user" in targets else ""  # targets.user (exec user)
    host_cmd = json.dumps(targets.get("host_shell_command", ["/bin/sh", "-i"]))
    cfg = tmp / "agent.toml"
    cfg.write_text(
        f"""
[agent]
device_id = "{DEVICE_ID}"
server_url = "{hub_url}"
secret_file = "device.secret"
grant_public_key = "grant.pub.pem"
inventory_interval_s = 0.5
log_level = "debug"
# Resume off (a lost peer ends the shell) unless a test asks: tests/resilience/test_resume.py.
resume_grace_s = {targets.get("resume_grace_s", 0)}

[targets]
docker = true
containers = {containers!r}
host_shell = {host_shell}
host_shell_command = {host_cmd}
{user_line}

[sidecar]
binary = "{targets.get("core_binary") or core_binary()}"
socket = "core.sock"
ice_interfaces = {list(targets.get("ice_interfaces") or [ice_iface()])!r}
log_level = "debug"

[admin]
socket = "admin.sock"
metrics_listen = "127.0.0.1:0"
""".replace("'", '"')
        + targets.get("extra_toml", "")
    )  # e.g. [policy], [audit], [recording]
    return cfg


@pytest.fixture
async def agent_factory(tmp_path):
    """Starts agents (each with its own hub and keys); stops them and checks they exit cleanly."""
    started: list[AgentProcess] = []

    async def start(**targets) -> AgentProcess:
        from cryptography.hazmat.primitives import serialization

        key = Ed25519PrivateKey.generate()
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        secret = secrets.token_urlsafe(24)
        hub = AgentHub(DEVICE_ID, secret)
        await hub.start()
        d = tmp_path / f"agent{len(started)}"
        d.mkdir()
        cfg = write_agent_config(d, hub.url, secret, public_pem, **targets)
        log_path = d / "agent.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "porthole", "agent", "--config", str(cfg)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        ap = AgentProcess(hub=hub, key=key, proc=proc, log_path=log_path)
        started.append(ap)
        try:
            async with asyncio.timeout(AGENT_START_TIMEOUT_S):
                await hub.connected.wait()
                await hub.inventory_changed.wait()
        except TimeoutError:
            raise AssertionError(f"agent did not connect; exit={proc.poll()}\n{ap.log()[-3000:]}") from None
        return ap

    yield start

    for ap in started:
        for c in ap.clients:
            await c.close()
        if ap.proc.poll() is None:
            ap.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.to_thread(ap.proc.wait), 20)
            except TimeoutError:
                ap.proc.kill()
                raise AssertionError(f"agent did not stop on SIGTERM\n{ap.log()[-3000:]}") from None
        await ap.hub.stop()


@pytest.fixture
async def agent(agent_factory) -> AgentProcess:
    return await agent_factory()
