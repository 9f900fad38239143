"""The whole product over HTTPS: the real server with `[server] tls_cert`/`tls_key`
(a CA made for the test, tests/tls/certs.py) and the real agent with `agent.ca_file`."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from porthole import devconfig
from tests.support.fullstack import DEFAULT_TARGETS, START_TIMEOUT_S, Stack, _spawn
from tests.support.hub import free_port
from tests.support.stack import core_binary, ice_iface
from tests.tls.certs import Pki, make_pki

# The host name in the certificate (tests/tls/certs.py) that the agent and the page use.
HOST = "localhost"


def agent_config(dc: devconfig.DevConfig, path: Path, url: str, ca_file: Path | None, extra: str = "") -> Path:
    """An agent config for the dev setup `dc`, at `url`, trusting `ca_file` (None: the system store)."""
    ca_line = f'ca_file = "{ca_file}"\n' if ca_file else ""
    path.write_text(
        f"""
[agent]
device_id = "{dc.device_id}"
server_url = "{url}"
secret_file = "{dc.device_secret_file}"
grant_public_key = "{dc.public_key}"
inventory_interval_s = 0.5
resume_grace_s = 0
reconnect_delay_s = 0.2
reconnect_delay_max_s = 1.0
{ca_line}
[sidecar]
binary = "{core_binary()}"
socket = "{path.with_suffix(".core.sock")}"
ice_interfaces = {json.dumps([ice_iface()])}

[admin]
socket = "{path.with_suffix(".admin.sock")}"

{DEFAULT_TARGETS}{extra}"""
    )
    return path


def _healthy(url: str, ctx: ssl.SSLContext) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1, context=ctx) as r:
            return r.status == 200
    except OSError:
        return False


async def wait_log(st: Stack, name: str, proc, text: str, count: int = 1) -> str:
    """Waits until `text` shows `count` times in the log `name` (while `proc` runs)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT_S
    while (log := st.log(name)).count(text) < count:
        assert proc.poll() is None, f"{name} exited ({proc.returncode})\n{log[-3000:]}"
        assert loop.time() < deadline, f"{text!r} not {count} times in the {name} log\n{log[-3000:]}"
        await asyncio.sleep(0.1)
    return log


async def start_https_stack(tmp_path: Path, pki: Pki) -> Stack:
    """The server on https://localhost:PORT with the test PKI, and an agent trusting its CA."""
    port = free_port()
    dc = devconfig.generate(tmp_path / "dev", host="127.0.0.1", port=port)
    text = dc.server_config.read_text()
    assert "\n[server]\n" in text
    text = text.replace("\n[server]\n", f'\n[server]\ntls_cert = "{pki.cert}"\ntls_key = "{pki.key}"\n', 1)
    dc.server_config.write_text(text)
    url = f"https://{HOST}:{port}"
    logs = {"server": tmp_path / "server.log", "agent": tmp_path / "agent.log"}
    st = Stack(
        url=url,
        username=dc.username,
        password=dc.password,
        device_id=dc.device_id,
        server=_spawn(["server", "--config", str(dc.server_config)], logs["server"]),
        agent=None,
        logs=logs,
        dc=dc,
    )
    try:
        ctx = ssl.create_default_context(cafile=str(pki.ca))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while not await asyncio.to_thread(_healthy, url, ctx):
            assert st.server.poll() is None and loop.time() < deadline, f"server did not start\n{st.log('server')}"
            await asyncio.sleep(0.1)
        cfg = agent_config(dc, tmp_path / "agent.toml", url, pki.ca)
        st.agent = _spawn(["agent", "--config", str(cfg)], logs["agent"])
        await wait_log(st, "agent", st.agent, "connected to server")
    except BaseException:
        await st.stop()
        raise
    return st


@pytest.fixture
def pki(tmp_path) -> Pki:
    return make_pki(tmp_path / "pki")


@pytest.fixture
async def https_stack(tmp_path, pki) -> AsyncIterator[Stack]:
    st = await start_https_stack(tmp_path, pki)
    yield st
    await st.stop()
