"""Behind a TLS-terminating proxy (docs/deploy.md, TLS option C): the page's origin is
https://<host>, the request reaches the server in plain HTTP, and X-Forwarded-Proto tells
the server which scheme its own origin has."""

from __future__ import annotations

from tests.server.conftest import Env


async def status(env: Env, headers: dict[str, str]) -> int:
    async with env.http.get(env.url + "/socket.io/?EIO=4&transport=polling", headers=headers) as r:
        return r.status


async def test_the_https_origin_needs_x_forwarded_proto(env: Env) -> None:
    host = env.url.removeprefix("http://")
    assert await status(env, {"Origin": f"https://{host}"}) == 400  # no proxy said https
    assert await status(env, {"Origin": f"https://{host}", "X-Forwarded-Proto": "https"}) == 200
    assert await status(env, {"Origin": f"http://{host}", "X-Forwarded-Proto": "https"}) == 400
    assert await status(env, {"Origin": f"http://{host}"}) == 200  # plain HTTP, same origin
