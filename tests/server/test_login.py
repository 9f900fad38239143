"""POST /api/login, the page and health endpoints, security headers."""

from __future__ import annotations

import jwt

from porthole.server.auth import AUDIENCE

from .conftest import PASSWORDS, Env


async def test_login_ok_returns_a_client_token(env: Env) -> None:
    async with env.http.post(
        env.url + "/api/login", json={"username": "operator", "password": PASSWORDS["operator"]}
    ) as r:
        assert r.status == 200
        body = await r.json()
        assert r.headers["Cache-Control"] == "no-store"
    assert body["user"] == "operator" and body["org"] == "demo" and body["expires_in"] == 900
    claims = jwt.decode(body["token"], env.server.public_key, algorithms=["EdDSA"], audience=AUDIENCE)
    assert claims["sub"] == "operator" and claims["exp"] - claims["iat"] == 900


async def test_login_wrong_password_and_unknown_user(env: Env) -> None:
    for body in ({"username": "operator", "password": "nope"}, {"username": "nobody", "password": "nope"}):
        r = await env.login_raw(body)
        assert r.status == 401
    async with env.http.post(env.url + "/api/login", json={"username": "operator", "password": "x"}) as r:
        assert (await r.json())["error"]["code"] == "unauthenticated"


async def test_login_malformed_bodies(env: Env) -> None:
    cases = [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'{"username": "operator"}', "application/json"),
        (b'{"username": 5, "password": "x"}', "application/json"),
        (b'{"username": "", "password": "x"}', "application/json"),
        (b'{"username": "operator", "password": "' + b"x" * 20000 + b'"}', "application/json"),
        (b"username=operator&password=x", "application/x-www-form-urlencoded"),
    ]
    for data, ctype in cases:
        async with env.http.post(env.url + "/api/login", data=data, headers={"Content-Type": ctype}) as r:
            assert r.status == 400, data[:40]
            assert (await r.json())["error"]["code"] == "bad_request"


async def test_login_rate_limited_per_user_and_address(env: Env) -> None:
    for _ in range(5):
        assert (await env.login_raw({"username": "operator", "password": "wrong"})).status == 401
    # Blocked now, even with the right password.
    r = await env.login_raw({"username": "operator", "password": PASSWORDS["operator"]})
    assert r.status == 429
    async with env.http.post(env.url + "/api/login", json={"username": "operator", "password": "x"}) as r:
        assert (await r.json())["error"]["code"] == "rate_limited"
    # Another user from the same address is not affected.
    assert await env.token("viewer")


async def test_healthz_and_security_headers(env: Env) -> None:
    async with env.http.get(env.url + "/healthz") as r:
        assert r.status == 200 and await r.json() == {"ok": True}
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        script_src = csp.split("script-src")[1].split(";")[0]
        assert "unsafe-inline" not in script_src
        assert "'unsafe-eval'" not in script_src  # WebAssembly only ('wasm-unsafe-eval'), never JS eval
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "no-referrer"


async def test_page_and_assets_are_served(env: Env) -> None:
    async with env.http.get(env.url + "/") as r:
        assert r.status == 200
        html = await r.text()
        assert r.headers["Content-Type"].startswith("text/html")
        assert "X-Frame-Options" in r.headers
    assert "<script" in html and "/static/app.js" in html
    assert "<script>" not in html  # no inline script
    for asset, ctype in (("/static/app.js", "javascript"), ("/static/app.css", "text/css")):
        async with env.http.get(env.url + asset) as r:
            assert r.status == 200, asset
            assert ctype in r.headers["Content-Type"]
    async with env.http.get(env.url + "/static/../server.toml") as r:
        assert r.status in (403, 404)
