"""Prometheus metrics of the server, on GET /metrics of its HTTP listener.

Counting wraps the namespaces' and the login's handlers from the outside
(app.py wires it), so no handler knows about metrics. Live figures (connected
agents and clients, open sessions) are read from the hub at scrape time.

Who may scrape: without `[server] metrics_token_file` only clients on
loopback (127.0.0.0/8, ::1); with it, only requests that send
`Authorization: Bearer <token>`, from anywhere. See docs/ctl.md.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from porthole.errors import ConfigError, PortholeError
from porthole.server.hub import EventNamespace, Hub

log = logging.getLogger("porthole.server")

# The *_created series double every counter for no use here.
disable_created_metrics()

# Only short codes become label values, at most this many distinct ones: a
# device may report any error code, and metrics must not grow without bound.
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CODES = 64
OTHER = "other"
KINDS = ("terminal", "screen")
LOGIN_PATH = "/api/login"
LOGIN_RESULTS = {200: "ok", 401: "failed", 429: "rate_limited"}


def read_token(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except OSError as e:
        raise ConfigError(f"server.metrics_token_file: cannot read {path}: {e.strerror}") from e
    if len(token) < 16:
        raise ConfigError(f"server.metrics_token_file: {path} holds no token of at least 16 characters")
    return token


class ServerMetrics:
    def __init__(self, hub: Hub, token_file: Path | None = None) -> None:
        self.hub = hub
        self._token = read_token(token_file) if token_file else None
        self._codes: set[str] = set()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.opened = Counter("porthole_server_sessions_opened", "Sessions opened (session:open granted)", ["kind"],
                              registry=r)
        self.failed = Counter("porthole_server_sessions_failed",
                              "Sessions refused at session:open, or ended by an error the device reported, by code",
                              ["code"], registry=r)
        self.ended = Counter("porthole_server_sessions_ended",
                             "Sessions ended, by reason: client, device, client_gone, device_offline, device_error, "
                             "login_expired, ...", ["reason"], registry=r)
        self.logins = Counter("porthole_server_logins", "Logins by result: ok, failed, rate_limited, bad_request",
                              ["result"], registry=r)
        for k in KINDS:
            self.opened.labels(k)
        for res in (*LOGIN_RESULTS.values(), "bad_request"):
            self.logins.labels(res)
        r.register(_HubCollector(hub))

    def _code(self, code: object) -> str:
        if not isinstance(code, str) or not CODE_RE.match(code):
            return OTHER
        if code not in self._codes:
            if len(self._codes) >= MAX_CODES:
                return OTHER
            self._codes.add(code)
        return code

    @classmethod
    def attach(cls, server: Any) -> ServerMetrics:
        """Wires metrics into a built Server: wraps its namespaces' handlers,
        counts logins with a middleware, adds GET /metrics. Call before start()."""
        m = cls(server.hub, server.config.server.metrics_token_file)
        for ns in server.sio.namespace_handlers.values():
            if "session:open" in getattr(ns, "handlers", {}):
                m.watch_client(ns)
            if "webrtc:error" in getattr(ns, "handlers", {}) and "webrtc:answer" in ns.handlers:
                m.watch_agent(ns)
        server.app.middlewares.append(m.login_middleware)
        hooks = getattr(server.hub, "on_session_end", None)
        if hooks is not None:
            hooks.append(m.on_session_end)
        server.app.router.add_get("/metrics", m.handler)
        return m

    def on_session_end(self, session: Any, why: str, now: float) -> None:
        """Hub hook: why is a code, or "device error <code>" for errors the device reported."""
        reason = "device_error" if why.startswith("device error") else why
        self.ended.labels(self._code(reason)).inc()

    # ---------------------------------------------------------------- wrapping

    def watch_client(self, ns: EventNamespace) -> EventNamespace:
        """Counts session:open outcomes of the /client namespace."""
        orig = ns.handlers["session:open"]

        async def session_open(sid: str, data: Any) -> dict[str, Any]:
            try:
                ack = await orig(sid, data)
            except PortholeError as e:
                self.failed.labels(self._code(e.code)).inc()
                raise
            s = self.hub.sessions.get(ack.get("session_id"))
            kind = s.kind if s is not None and s.kind in KINDS else OTHER
            self.opened.labels(kind).inc()
            return ack

        ns.handlers["session:open"] = session_open
        return ns

    def watch_agent(self, ns: EventNamespace) -> EventNamespace:
        """Counts the errors devices report for sessions (webrtc:error on /agent)."""
        orig = ns.handlers["webrtc:error"]

        async def error(sid: str, data: Any) -> dict[str, Any]:
            ack = await orig(sid, data)
            if isinstance(ack, dict) and ack.get("ok") and isinstance(data, dict):
                self.failed.labels(self._code(data.get("code"))).inc()
            return ack

        ns.handlers["webrtc:error"] = error
        return ns

    @web.middleware
    async def login_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Counts POST /api/login answers by result."""
        if request.path != LOGIN_PATH or request.method != "POST":
            return await handler(request)
        try:
            resp = await handler(request)
        except web.HTTPException as e:
            self.logins.labels(LOGIN_RESULTS.get(e.status, "bad_request")).inc()
            raise
        self.logins.labels(LOGIN_RESULTS.get(resp.status, "bad_request")).inc()
        return resp

    # ---------------------------------------------------------------- endpoint

    def _allowed(self, request: web.Request) -> bool:
        if self._token is not None:
            got = request.headers.get("Authorization", "")
            return hmac.compare_digest(got.encode(), f"Bearer {self._token}".encode())
        try:
            return ipaddress.ip_address((request.remote or "").split("%")[0]).is_loopback
        except ValueError:
            return False

    async def handler(self, request: web.Request) -> web.Response:
        if not self._allowed(request):
            log.warning("GET /metrics from %s refused", request.remote)
            if self._token is not None:
                return web.Response(status=401, text="send Authorization: Bearer <metrics token>\n",
                                    headers={"WWW-Authenticate": "Bearer"})
            return web.Response(status=403, text="metrics are served to loopback only "
                                                 "(or set [server] metrics_token_file)\n")
        return web.Response(body=generate_latest(self.registry), headers={"Content-Type": CONTENT_TYPE_LATEST,
                                                                         "Cache-Control": "no-store"})


class _HubCollector:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def describe(self):
        return []

    def collect(self):
        hub = self.hub
        yield GaugeMetricFamily("porthole_server_agents_connected", "Agents (devices) connected now",
                                value=len(hub.agents))
        yield GaugeMetricFamily("porthole_server_clients_connected", "Clients (browsers, CLIs) connected now",
                                value=len(hub.clients))
        yield GaugeMetricFamily("porthole_server_sessions_open", "Sessions open now (opened, not yet ended)",
                                value=len(hub.sessions))
