"""HTTP side: login, health, the page and its assets, security headers."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from porthole import errors
from porthole.errors import PortholeError
from porthole.events import EventBus
from porthole.server import clientaddr, passwords
from porthole.server import limiter as limiter_mod
from porthole.server.auditing import clean
from porthole.server.auth import Tokens
from porthole.server.authz import Policy
from porthole.server.config import ServerSettings
from porthole.server.hashpool import HashPool
from porthole.server.limiter import AttemptLimiter

log = logging.getLogger("porthole.server")

STATIC_DIR = Path(__file__).parent / "static"
# A login body is two short strings.
MAX_LOGIN_BODY = 16 * 1024
MAX_USERNAME_LEN = 128
MAX_PASSWORD_LEN = 1024
# A login's HTTP status -> the `result` of its `login` event; anything else is bad_request.
LOGIN_RESULTS = {200: "ok", 401: "failed", 429: "rate_limited"}
# Browsers that reached us over HTTPS keep to HTTPS for this long (a year).
HSTS_MAX_AGE_S = 365 * 86400
_HOST_RE = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")

# xterm.js's DOM renderer writes <style> elements for its theme and cell size,
# so styles need 'unsafe-inline'; scripts are strictly same-origin files.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'{ws}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def error_response(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


async def on_prepare(request: web.Request, response: web.StreamResponse) -> None:
    """Security headers on every response, including the Socket.IO ones."""
    host = request.headers.get("Host", "")
    ws = f" ws://{host} wss://{host}" if _HOST_RE.match(host) else ""
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP.format(ws=ws))
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("X-Frame-Options", "DENY")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.secure:  # served over this process's own TLS ([server] tls_cert)
        h.setdefault("Strict-Transport-Security", f"max-age={HSTS_MAX_AGE_S}")
    if request.path == "/" or request.path.startswith("/static/") or request.path.startswith("/api/"):
        h.setdefault("Cache-Control", "no-store" if request.path.startswith("/api/") else "no-cache")


class LoginHandler:
    def __init__(
        self,
        policy: Policy,
        tokens: Tokens,
        limiter: AttemptLimiter,
        hashes: HashPool,
        settings: ServerSettings,
        events: EventBus,
    ) -> None:
        self.policy = policy
        self.tokens = tokens
        self.limiter = limiter
        self.hashes = hashes
        self.settings = settings
        self.events = events

    async def handle(self, request: web.Request) -> web.Response:
        """POST /api/login; publishes `login` (result, user, remote) for audit and metrics."""
        remote = clientaddr.of_request(request, self.settings.trusted_proxies)
        try:
            response, user = await self._login(request, remote)
        except web.HTTPException as e:
            self._publish(e.status, None, remote)
            raise
        self._publish(response.status, user, remote)
        return response

    def _publish(self, status: int, user: str | None, remote: str) -> None:
        result = LOGIN_RESULTS.get(status, "bad_request")
        self.events.publish("login", None, result=result, user=clean(user), remote=clean(remote))

    def budgets(self, username: str, remote: str) -> dict[str, int]:
        """What one login attempt spends (limiter.py): per user and address, per address, per user."""
        s = self.settings
        return {
            limiter_mod.key("login", username, remote): s.login_max_failures,
            limiter_mod.key("addr", remote): s.login_max_failures_per_address,
            limiter_mod.key("user", username): s.login_max_failures_per_user,
        }

    async def _login(self, request: web.Request, remote: str) -> tuple[web.Response, str | None]:
        """The answer, and the user name the body gave (if it gave one)."""
        if request.content_type != "application/json":
            return error_response(400, errors.BAD_REQUEST, "send Content-Type: application/json"), None
        if request.content_length is not None and request.content_length > MAX_LOGIN_BODY:
            return error_response(400, errors.BAD_REQUEST, "body too large"), None
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return error_response(400, errors.BAD_REQUEST, "body is not JSON"), None
        except web.HTTPRequestEntityTooLarge:
            return error_response(400, errors.BAD_REQUEST, "body too large"), None
        if not isinstance(body, dict):
            return error_response(400, errors.BAD_REQUEST, "body must be {username, password}"), None
        username, password = body.get("username"), body.get("password")
        name = username if isinstance(username, str) else None
        if not isinstance(username, str) or not 0 < len(username) <= MAX_USERNAME_LEN:
            return error_response(400, errors.BAD_REQUEST, "username must be a non-empty string"), name
        if not isinstance(password, str) or not 0 < len(password) <= MAX_PASSWORD_LEN:
            return error_response(400, errors.BAD_REQUEST, "password must be a non-empty string"), name
        # The attempt is taken from every budget before the slow hash: concurrent guesses
        # cannot all pass a check made before any of them failed.
        attempt = await self.limiter.reserve(self.budgets(username, remote))
        if attempt is None:
            log.warning("login for user=%r from %s refused: rate limited", username, remote)
            return error_response(429, errors.RATE_LIMITED, "too many failed logins; wait a minute"), name
        user = self.policy.user(username)
        encoded = user.password_hash if user is not None else passwords.dummy_hash()
        try:
            ok = await self.hashes.verify(password, encoded)
        except PortholeError as e:  # the hash queue is full
            await self.limiter.succeeded(attempt)  # not this caller's failure
            return error_response(429, e.code, e.message), name
        if user is None or not ok:
            log.warning("login for user=%r from %s failed", username, remote)
            return error_response(401, errors.UNAUTHENTICATED, "wrong user name or password"), name
        await self.limiter.succeeded(attempt, clear=(limiter_mod.key("login", username, remote),))
        token = self.tokens.issue(user.name, user.org)
        log.info("login: user=%s from %s", user.name, remote)
        body_out: dict[str, Any] = {"token": token, "expires_in": self.tokens.ttl_s, "user": user.name, "org": user.org}
        return web.json_response(body_out), name


async def index(request: web.Request) -> web.StreamResponse:
    page = STATIC_DIR / "index.html"
    if not page.is_file():
        return web.Response(status=503, text="the page is not built: run `make web`\n")
    return web.FileResponse(page)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def add_routes(app: web.Application, login: LoginHandler) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/api/login", login.handle)
    app.router.add_static("/static/", STATIC_DIR, follow_symlinks=False, show_index=False)
    app.on_response_prepare.append(on_prepare)
