"""The agent comes back after every kind of server loss (issue 16), with real
processes: `porthole server` and `porthole agent` run as separate processes,
the server is stopped (SIGTERM, as a deploy does) or killed (SIGKILL) and
started again on the same port, and the device must be online again, its
inventory listed to a /client socket, within the agent's backoff.

The agent's backoff is made small here (RECONNECT_DELAY_S..RECONNECT_MAX_S)
so that "within one maximum backoff" is a short wait.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator

import aiohttp
import pytest
import socketio

from tests.support.fullstack import REPO, Stack, start_stack

RECONNECT_DELAY_S = 0.5
RECONNECT_MAX_S = 2.0
# After the server answers /healthz again: the agent's next attempt comes at
# most RECONNECT_MAX_S later; this covers the connect itself (the server's
# scrypt check), the inventory emit and our own login and listing, on a
# shared 2-core machine.
SLACK_S = 8.0
BACK_WITHIN_S = RECONNECT_MAX_S + SLACK_S
# A host shell target, so the inventory is never empty (no Docker needed).
TARGETS = '[targets]\ndocker = false\nhost_shell = true\nhost_shell_command = ["/bin/sh", "-i"]\n'
ADMIN = '[admin]\nsocket = "admin.sock"\nmetrics_listen = "127.0.0.1:0"\n'
RESTARTS = 3


@pytest.fixture
async def stack(tmp_path) -> AsyncIterator[Stack]:
    st = await start_stack(
        tmp_path,
        targets=TARGETS,
        agent_extra=ADMIN,
        agent_keys=f"reconnect_delay_s = {RECONNECT_DELAY_S}\nreconnect_delay_max_s = {RECONNECT_MAX_S}\n",
        # The refused-secret test counts refusals, then writes the good secret back; on a loaded
        # machine more attempts than the default budget (5) can fall in between, and the next
        # minute would be rate_limited. The budget is not what these tests are about.
        server_patch=(("[server]\n", "[server]\nlogin_max_failures = 50\n"),),
    )
    yield st
    await st.stop()


async def _inventory(st: Stack) -> list[str] | None:
    """The device's target ids as the server lists them to a client, or None while it is offline."""
    body = {"username": st.username, "password": st.password}
    async with aiohttp.ClientSession() as http, http.post(st.url + "/api/login", json=body) as r:
        assert r.status == 200, await r.text()
        token = (await r.json())["token"]
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(st.url, namespaces=["/client"], auth={"token": token}, transports=["websocket"])
    try:
        ack = await sio.call("devices:list", namespace="/client", timeout=10)
    finally:
        await sio.disconnect()
    for d in ack["devices"]:
        if d["id"] == st.device_id and d["online"]:
            return [t["id"] for t in d["targets"]]
    return None


async def _back_online(st: Stack, what: str) -> None:
    """Waits (from the server's return) until the server lists the device with its inventory."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BACK_WITHIN_S
    last = None
    while True:
        last = await _inventory(st)
        if last and "host" in last:
            return
        assert st.agent is not None and st.agent.poll() is None, f"agent exited\n{st.log('agent')[-3000:]}"
        assert loop.time() < deadline, (
            f"{what}: device not back online within {BACK_WITHIN_S:g} s of the server's return "
            f"(inventory {last!r})\n--- agent\n{st.log('agent')[-3000:]}"
        )
        await asyncio.sleep(0.1)


async def _stop_server(st: Stack, sig: signal.Signals) -> None:
    st.server.send_signal(sig)
    await asyncio.wait_for(asyncio.to_thread(st.server.wait), 20)


def _health(st: Stack) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "porthole", "ctl", "--socket", str(st.dc.directory / "admin.sock"), "--json", "health"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=30,
    )
    assert out.stdout, out.stderr
    return json.loads(out.stdout)


async def _metrics(st: Stack) -> str:
    addr = (await asyncio.to_thread(_health, st))["metrics_address"]
    async with aiohttp.ClientSession() as http, http.get(f"http://{addr}/metrics") as r:
        return await r.text()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["graceful", "killed"])
async def test_agent_back_after_each_server_restart(stack, sig):
    assert "host" in (await _inventory(stack) or [])
    for i in range(RESTARTS):
        await _stop_server(stack, sig)
        await stack.start_server()
        await _back_online(stack, f"restart {i + 1} after {sig.name}")
    log = stack.log("agent")
    assert log.count("disconnected from server") >= RESTARTS, log[-3000:]


async def test_agent_back_within_max_backoff_after_long_outage(stack):
    await _stop_server(stack, signal.SIGTERM)
    # Down for several maximum backoffs: the delay has reached its cap.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 4 * RECONNECT_MAX_S
    h = await asyncio.to_thread(_health, stack)
    while loop.time() < deadline or h.get("signaling_failed_attempts", 0) < 3:
        h = await asyncio.to_thread(_health, stack)
        assert loop.time() < deadline + 30, f"no failed attempts counted: {h}\n{stack.log('agent')[-3000:]}"
        await asyncio.sleep(0.2)
    # While the server is away, health and metrics say so and for how long.
    assert not h.get("ok") and not h.get("signaling_connected"), h
    assert h["signaling_state"] in ("disconnected", "connecting"), h
    assert int(h["signaling_disconnected_ms"]) >= 4 * RECONNECT_MAX_S * 1000 - 1000, h
    assert h["signaling_last_error"] == "unreachable", h
    assert any("not connected to the signaling server" in p for p in h["problems"]), h
    metrics = await _metrics(stack)
    assert 'porthole_agent_signaling_state{state="connected"} 0.0' in metrics, metrics
    assert "porthole_agent_signaling_connected 0.0" in metrics, metrics
    down = [ln for ln in metrics.splitlines() if ln.startswith("porthole_agent_signaling_disconnected_seconds ")]
    assert down and float(down[0].split()[1]) >= 4 * RECONNECT_MAX_S - 1, metrics

    await stack.start_server()
    await _back_online(stack, "after a long outage")
    h = await asyncio.to_thread(_health, stack)
    assert h["signaling_state"] == "connected" and h["signaling_connected"], h
    assert int(h.get("signaling_disconnected_ms", 0)) == 0 and not h.get("signaling_last_error"), h
    # The capped delay was used, and never more than the cap.
    waits = [
        float(ln.split("next connect attempt in ")[1].split()[0])
        for ln in stack.log("agent").splitlines()
        if "next connect attempt in " in ln
    ]
    assert waits and max(waits) <= RECONNECT_MAX_S and max(waits) > RECONNECT_DELAY_S, waits


async def test_refused_connect_keeps_trying_and_rereads_the_secret(stack):
    secret_file = stack.dc.device_secret_file
    good = secret_file.read_text()
    await _stop_server(stack, signal.SIGTERM)
    secret_file.write_text("wrong-secret-" + "x" * 20)
    await stack.start_server()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    # Refused again and again, each attempt logged with the server's code.
    while stack.log("agent").count("unauthenticated") < 3:
        assert loop.time() < deadline, stack.log("agent")[-3000:]
        await asyncio.sleep(0.2)
    assert await _inventory(stack) is None
    assert (await asyncio.to_thread(_health, stack))["signaling_last_error"] == "unauthenticated"
    secret_file.write_text(good)  # rotated back: the next attempt reads it
    await _back_online(stack, "after the secret was fixed")
    log = stack.log("agent")
    # Every refused attempt has its own error line with the code (the attempt numbers go on
    # from the unreachable ones while the server was starting).
    refused = re.findall(r"ERROR porthole\.agent: connect to server failed \(attempt \d+\): unauthenticated: ", log)
    assert len(refused) >= 3, log[-3000:]
    assert good.strip() not in log and good.strip() not in stack.log("server")


def _iptables(op: str, port: int) -> None:
    # Both directions on loopback pass INPUT: dropping them cuts the agent's TCP connection silently.
    for rule in (["--dport", str(port)], ["--sport", str(port)]):
        subprocess.run(["iptables", op, "INPUT", "-p", "tcp", *rule, "-j", "DROP"], check=True, timeout=10)


# engine.io notices a silent link when the server's pings stop: ping interval (25 s) plus
# ping timeout (20 s), python-socketio's defaults, which the server does not change.
SILENT_LOSS_DETECTION_S = 45.0


async def test_agent_back_after_a_network_cut(stack):
    """No FIN, no RST: the packets just stop (iptables DROP in the test's own namespace)."""
    port = int(stack.url.rsplit(":", 1)[1])
    _iptables("-I", port)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SILENT_LOSS_DETECTION_S + 30
        while "disconnected from server" not in stack.log("agent"):
            assert loop.time() < deadline, f"the agent never noticed the cut\n{stack.log('agent')[-3000:]}"
            await asyncio.sleep(0.5)
        h = await asyncio.to_thread(_health, stack)
        assert h["signaling_state"] != "connected" and not h["ok"], h
    finally:
        _iptables("-D", port)
    # The link is back; the server may still hold the old, silent connection until its own
    # ping timeout, so the device's return can take up to that long as well.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SILENT_LOSS_DETECTION_S + BACK_WITHIN_S
    while True:
        h = await asyncio.to_thread(_health, stack)
        if h["signaling_state"] == "connected" and "host" in (await _inventory(stack) or []):
            break
        assert loop.time() < deadline, f"not back after the cut: {h}\n{stack.log('agent')[-3000:]}"
        await asyncio.sleep(0.5)
