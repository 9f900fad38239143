"""DNS rebinding (issue 14, 7; server/hostcheck.py): a page on
http://evil.example:PORT whose name now points at the server sends
`Host: evil.example:PORT` with a matching `Origin`, so the same-origin rule
alone lets it in. The Host allowlist refuses it (421 host_not_allowed, logged)
on every route; the server's own names still work."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from porthole import wire
from porthole.server import config as config_mod
from porthole.server.app import Server
from porthole.server.hostcheck import hostname
from tests.server.conftest import PASSWORDS, Env, write_config

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def port_of(env_url: str) -> str:
    return env_url.rsplit(":", 1)[1]


async def get(http: aiohttp.ClientSession, url: str, host: str, origin: str | None = None) -> tuple[int, str]:
    headers = {"Host": host} | ({"Origin": origin} if origin else {})
    async with http.get(url, headers=headers) as r:
        return r.status, await r.text()


async def test_a_rebound_name_is_refused_everywhere(env: Env, caplog) -> None:
    evil = f"evil.example:{port_of(env.url)}"
    caplog.set_level(logging.WARNING, "porthole.server.hostcheck")
    status, body = await get(env.http, env.url + HANDSHAKE, evil, origin=f"http://{evil}")
    assert status == 421 and wire.HOST_NOT_ALLOWED in body, (status, body)
    async with env.http.post(
        env.url + "/api/login", json={"username": "operator", "password": PASSWORDS["operator"]}, headers={"Host": evil}
    ) as r:
        assert r.status == 421 and (await r.json())["error"]["code"] == wire.HOST_NOT_ALLOWED
    assert any("evil.example" in r.getMessage() for r in caplog.records), caplog.text


@pytest.mark.parametrize(
    "host",
    ["evil.example", "console.example.evil", "evil.console.example", "127.0.0.1.evil.example", "", "[::1", "a:b:c"],
)
async def test_near_miss_hosts_are_refused(env: Env, host: str) -> None:
    status, _ = await get(env.http, env.url + HANDSHAKE, host)
    assert status == 421, host


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST.", "console.example", "[::1]", "192.0.2.7"])
async def test_the_servers_own_names_work(env: Env, name: str) -> None:
    host = f"{name}:{port_of(env.url)}"
    origin = "https://console.example" if name == "console.example" else f"http://{host}"
    status, body = await get(env.http, env.url + HANDSHAKE, host, origin=origin)
    assert status == 200 and '"sid"' in body, (name, status, body)


async def test_configured_allowed_hosts_replace_the_default(tmp_path: Path) -> None:
    server = Server(config_mod.load(write_config(tmp_path, allowed_hosts=["porthole.lan"])))
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            port = str(server.port)
            assert (await get(http, server.url + HANDSHAKE, f"porthole.lan:{port}"))[0] == 200
            # IP literals are no longer let in by default, nor localhost.
            assert (await get(http, server.url + HANDSHAKE, f"127.0.0.1:{port}"))[0] == 421
            assert (await get(http, server.url + HANDSHAKE, f"localhost:{port}"))[0] == 421
    finally:
        await server.stop()


def test_bad_allowed_hosts_are_refused_at_start(tmp_path: Path) -> None:
    for bad in ("https://porthole.lan", "porthole.lan:8080", "porthole.lan/x"):
        with pytest.raises(config_mod.ConfigError, match="allowed_hosts"):
            config_mod.load(write_config(tmp_path, allowed_hosts=[bad]))


def test_hostname_parsing() -> None:
    assert hostname("Example.COM.:8080") == "example.com"
    assert hostname("[::1]:80") == "::1"
    assert hostname("[::1]x") is None and hostname("h:port") is None and hostname("") is None
