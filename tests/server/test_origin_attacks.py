"""Cross-origin handshakes that look almost right are refused: the origin must
equal this server's own origin or a configured one exactly (the server under
test has origins = ["https://console.example"])."""

from __future__ import annotations

import pytest

from tests.server.conftest import Env

NEAR_MISSES = [
    "https://console.example.evil",  # suffix
    "https://evil.console.example",  # subdomain
    "https://console.example.",  # trailing dot
    "http://console.example",  # other scheme
    "https://console.example:8443",  # other port
    "https://console.exampl",  # prefix
    "https://console.example@evil.example",
    "null",  # sandboxed iframe, file://, data:
    "https://console.example, https://evil.example",
]


@pytest.mark.parametrize("origin", NEAR_MISSES)
async def test_near_miss_origins_are_refused(env: Env, origin: str) -> None:
    url = env.url + "/socket.io/?EIO=4&transport=polling"
    async with env.http.get(url, headers={"Origin": origin}) as r:
        assert r.status == 400, origin
        assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("delta", [1, -1])
async def test_this_host_on_another_port_is_refused(env: Env, delta: int) -> None:
    host, port = env.url.rsplit(":", 1)
    url = env.url + "/socket.io/?EIO=4&transport=polling"
    async with env.http.get(url, headers={"Origin": f"{host}:{int(port) + delta}"}) as r:
        assert r.status == 400
