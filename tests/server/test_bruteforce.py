"""Guessing passwords and device secrets, made for real against the server
(issue 14, 2 and 3): every attempt spends its budgets *before* the slow hash,
so concurrent guesses are limited; one address cannot lock another out;
X-Forwarded-For is believed only from a configured proxy; device secrets are
rate limited and audited; the slow hashes queue in a bounded pool."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
import socketio

from porthole.errors import PortholeError
from porthole.server import config as config_mod
from porthole.server import passwords
from porthole.server.app import Server
from porthole.server.hashpool import HashPool

from .conftest import PASSWORDS, SECRETS, Env, Peer, write_config

MAX_FAILURES = 5  # login_max_failures in conftest's config


async def login(http: aiohttp.ClientSession, url: str, user: str, password: str, xff: str | None = None) -> int:
    headers = {"X-Forwarded-For": xff} if xff else {}
    async with http.post(url + "/api/login", json={"username": user, "password": password}, headers=headers) as r:
        await r.read()
        return r.status


def audit(env_or_path) -> list[dict]:
    path = env_or_path if isinstance(env_or_path, Path) else env_or_path.config_path.parent / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


async def test_concurrent_wrong_guesses_are_limited_before_hashing(env: Env) -> None:
    statuses = await asyncio.gather(*(login(env.http, env.url, "operator", f"guess-{i}") for i in range(60)))
    counts = Counter(statuses)
    # Exactly the budget was evaluated; every other guess was refused without a hash.
    assert counts == {401: MAX_FAILURES, 429: 60 - MAX_FAILURES}, counts
    # The right password from the same address is refused as well while the budget is spent.
    assert await login(env.http, env.url, "operator", PASSWORDS["operator"]) == 429


async def test_one_address_spraying_users_meets_the_address_budget(tmp_path: Path) -> None:
    server = Server(config_mod.load(write_config(tmp_path, login_max_failures_per_address=8)))
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            statuses = [await login(http, server.url, f"user-{i}", "guess") for i in range(12)]
        assert statuses[:8] == [401] * 8 and statuses[8:] == [429] * 4, statuses
    finally:
        await server.stop()


@pytest.fixture
async def proxied(tmp_path: Path):
    """A server behind a trusted proxy on 127.0.0.1 (where the test's requests come from)."""
    server = Server(config_mod.load(write_config(tmp_path, trusted_proxies=["127.0.0.1"])))
    await server.start()
    http = aiohttp.ClientSession()
    yield server, http, tmp_path
    await http.close()
    await server.stop()


async def test_a_lockout_of_one_address_does_not_lock_another(proxied) -> None:
    server, http, _ = proxied
    for i in range(MAX_FAILURES):
        assert await login(http, server.url, "operator", f"bad-{i}", xff="203.0.113.5") == 401
    assert await login(http, server.url, "operator", PASSWORDS["operator"], xff="203.0.113.5") == 429
    # The same user from another address behind the same proxy logs in.
    assert await login(http, server.url, "operator", PASSWORDS["operator"], xff="203.0.113.6") == 200
    # A client that adds its own hop cannot pose as another: the proxy appends the real one last.
    assert await login(http, server.url, "operator", "bad", xff="198.51.100.1, 203.0.113.5") == 429


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(env: Env) -> None:
    # No trusted proxies: every made-up X-Forwarded-For still counts as this one address.
    statuses = [await login(env.http, env.url, "operator", "bad", xff=f"203.0.113.{i}") for i in range(8)]
    assert statuses == [401] * MAX_FAILURES + [429] * 3, statuses
    records = [r for r in audit(env) if r["event"].startswith("login.")]
    assert {r["remote"] for r in records} == {"127.0.0.1"}, records


async def test_device_secret_guesses_are_limited_and_audited(env: Env) -> None:
    refused = []
    for i in range(MAX_FAILURES + 2):
        peer = Peer("/agent", ())
        env.peers.append(peer)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect(env.url, {"device_id": "edge-1", "secret": f"guess-{i}"})
        refused.append(peer)
    # Now even the right secret from this address waits for the window to pass.
    peer = Peer("/agent", ())
    env.peers.append(peer)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(env.url, {"device_id": "edge-1", "secret": SECRETS["edge-1"]})
    denied = [r for r in audit(env) if r["event"] == "device.denied"]
    codes = [r["code"] for r in denied]
    assert codes == ["unauthenticated"] * MAX_FAILURES + ["rate_limited"] * 3, codes
    assert all(r["device"] == "edge-1" and r["remote"] == "127.0.0.1" and r["via"] == "socket" for r in denied)
    assert not any(SECRETS["edge-1"] in json.dumps(r) or "guess-" in json.dumps(r) for r in denied)
    # Another device from the same address is within its own budget (until the address budget).
    assert (await env.agent("edge-2")).sio.connected


async def test_a_keyed_device_hash_is_checked_without_scrypt() -> None:
    encoded = passwords.hash_device_secret("s3cret-device-value")
    assert encoded.startswith("hmac-sha256$") and "s3cret" not in encoded
    assert passwords.verify_device_secret("s3cret-device-value", encoded) is True
    assert passwords.verify_device_secret("s3cret-device-valuf", encoded) is False
    assert passwords.verify_device_secret("x", passwords.hash_password("x", n=2**8)) is None  # scrypt: the pool's


async def test_the_hash_pool_refuses_beyond_its_queue() -> None:
    pool = HashPool(workers=1, max_waiting=2)
    slow = passwords.hash_password("pw", n=2**14)
    try:
        results = await asyncio.gather(*(pool.verify("pw", slow) for _ in range(10)), return_exceptions=True)
    finally:
        pool.close()
    ok = [r for r in results if r is True]
    busy = [r for r in results if isinstance(r, PortholeError) and r.code == "rate_limited"]
    assert len(ok) == 3 and len(busy) == 7, results
