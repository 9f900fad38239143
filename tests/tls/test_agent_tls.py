"""The agent over HTTPS: it verifies the server's certificate against agent.ca_file
(or the system store) and refuses any other, with a code, and keeps retrying."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import socketio
from aiohttp import web

from porthole.agent import tls as agent_tls
from tests.support.fullstack import Stack, _spawn, _stop
from tests.tls.certs import Pki, make_pki
from tests.tls.conftest import agent_config, wait_log


async def devices(st: Stack, ca: Path) -> list[dict]:
    """devices:list as a logged-in browser sees it, over HTTPS and WSS (trusting `ca`)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    body = {"username": st.username, "password": st.password}
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as http,
        http.post(st.url + "/api/login", json=body) as r,
    ):
        assert r.status == 200, await r.text()
        assert "max-age=" in r.headers.get("Strict-Transport-Security", "")
        token = (await r.json())["token"]
    sio = socketio.AsyncClient(reconnection=False, http_session=agent_tls.session_factory(ctx))
    await sio.connect(st.url, namespaces=["/client"], auth={"token": token}, transports=["websocket"])
    try:
        return (await sio.call("devices:list", namespace="/client"))["devices"]
    finally:
        await sio.disconnect()


async def test_agent_with_the_ca_connects_and_the_device_is_online(https_stack: Stack, pki: Pki) -> None:
    assert https_stack.url.startswith("https://")
    listed = await devices(https_stack, pki.ca)
    assert [(d["id"], d["online"]) for d in listed] == [(https_stack.device_id, True)]


async def test_a_certificate_the_agent_does_not_trust_is_refused_with_a_code(
    https_stack: Stack, pki: Pki, tmp_path: Path
) -> None:
    """Another CA in agent.ca_file, or no ca_file (the system store, which does not know the
    test CA): every attempt fails with tls_untrusted, logged, and the agent keeps retrying."""
    other = make_pki(tmp_path / "other", name="other")
    for name, ca in (("wrong-ca", other.ca), ("system-store", None)):
        cfg = agent_config(https_stack.dc, tmp_path / f"{name}.toml", https_stack.url, ca)
        https_stack.logs[name] = tmp_path / f"{name}.log"
        proc = _spawn(["agent", "--config", str(cfg)], https_stack.logs[name])
        try:
            # Attempts 1 and 2 both refused: the uplink goes on with its backoff.
            log = await wait_log(https_stack, name, proc, f"{agent_tls.TLS_UNTRUSTED}:", count=2)
            assert "connect to server failed (attempt 2): tls_untrusted: the server's certificate did not verify" in log
            assert "certificate verify failed" in log or "unable to get local issuer certificate" in log, log
            assert ("agent.ca_file (" in log) == (ca is not None), log
            assert "connected to server" not in log
            # `porthole ctl health` says so too.
            health = await asyncio.to_thread(
                subprocess.run,
                [
                    sys.executable,
                    "-m",
                    "porthole",
                    "ctl",
                    "--socket",
                    str(cfg.with_suffix(".admin.sock")),
                    "health",
                    "--json",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            )
            status = json.loads(health.stdout)
            assert status["signaling_last_error"] == agent_tls.TLS_UNTRUSTED, health
            assert status["signaling_state"] != "connected", health
        finally:
            await _stop(proc, name, https_stack.logs[name])
    # The agent with the right CA was never disturbed.
    assert [d["online"] for d in await devices(https_stack, pki.ca)] == [True]


async def test_https_url_at_a_plain_http_server_is_tls_failed(tmp_path: Path, pki: Pki) -> None:
    """A real plain-HTTP server where the agent expects TLS: `tls_failed`, not `unreachable`."""
    from porthole import devconfig
    from tests.support.hub import free_port

    app = web.Application()
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    dc = devconfig.generate(tmp_path / "dev", host="127.0.0.1", port=port)
    cfg = agent_config(dc, tmp_path / "agent.toml", f"https://localhost:{port}", pki.ca)
    log_path = tmp_path / "agent.log"
    proc = _spawn(["agent", "--config", str(cfg)], log_path)
    st = Stack("", "", "", "", proc, None, {"agent": log_path}, dc)
    try:
        log = await wait_log(st, "agent", proc, f"{agent_tls.TLS_FAILED}: TLS handshake with the server failed", 2)
        assert "connected to server" not in log
    finally:
        await _stop(proc, "agent", log_path)
        await runner.cleanup()
