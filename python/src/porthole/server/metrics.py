"""Prometheus metrics of the server, on GET /metrics of its HTTP listener.

Counts come from the server's event bus (session.opened, session.open_denied,
session.closed, login), so no handler knows about metrics. Live figures
(connected agents and clients, open sessions) are read from the store at
scrape time.

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

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from porthole.errors import ConfigError
from porthole.events import Event
from porthole.server.store import Store

log = logging.getLogger("porthole.server")

# The *_created series double every counter for no use here.
disable_created_metrics()

# Only short codes become label values, at most this many distinct ones: a
# device may report any error code, and metrics must not grow without bound.
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CODES = 64
OTHER = "other"
KINDS = ("terminal", "screen")
LOGIN_RESULTS = ("ok", "failed", "rate_limited", "bad_request")


def read_token(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except OSError as e:
        raise ConfigError(f"server.metrics_token_file: cannot read {path}: {e.strerror}") from e
    if len(token) < 16:
        raise ConfigError(f"server.metrics_token_file: {path} holds no token of at least 16 characters")
    return token


class ServerMetrics:
    def __init__(self, store: Store, token_file: Path | None = None) -> None:
        self.store = store
        self._token = read_token(token_file) if token_file else None
        self._codes: set[str] = set()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.opened = Counter(
            "porthole_server_sessions_opened", "Sessions opened (session:open granted)", ["kind"], registry=r
        )
        self.failed = Counter(
            "porthole_server_sessions_failed",
            "Sessions refused at session:open, or ended by an error the device reported, by code",
            ["code"],
            registry=r,
        )
        self.ended = Counter(
            "porthole_server_sessions_ended",
            "Sessions ended, by reason: client, device, client_gone, device_offline, device_error, login_expired, ...",
            ["reason"],
            registry=r,
        )
        self.logins = Counter(
            "porthole_server_logins", "Logins by result: ok, failed, rate_limited, bad_request", ["result"], registry=r
        )
        for k in KINDS:
            self.opened.labels(k)
        for res in LOGIN_RESULTS:
            self.logins.labels(res)
        self.agents = Gauge("porthole_server_agents_connected", "Agents (devices) connected now", registry=r)
        self.clients = Gauge("porthole_server_clients_connected", "Clients (browsers, CLIs) connected now", registry=r)
        self.sessions = Gauge("porthole_server_sessions_open", "Sessions open now (opened, not yet ended)", registry=r)

    def _code(self, code: object) -> str:
        if not isinstance(code, str) or not CODE_RE.match(code):
            return OTHER
        if code not in self._codes:
            if len(self._codes) >= MAX_CODES:
                return OTHER
            self._codes.add(code)
        return code

    def on_event(self, ev: Event) -> None:
        """Bus subscriber: counts opens by kind, refusals and device errors by code, ends by reason, logins."""
        f = ev.fields
        if ev.name == "session.opened":
            kind = f.get("kind")
            self.opened.labels(kind if kind in KINDS else OTHER).inc()
        elif ev.name == "session.open_denied":
            self.failed.labels(self._code(f.get("code"))).inc()
        elif ev.name == "session.closed":
            code = f.get("code")  # set when the device reported an error
            if code is not None:
                self.failed.labels(self._code(code)).inc()
            self.ended.labels(self._code("device_error" if code is not None else f.get("reason"))).inc()
        elif ev.name == "login":
            result = f.get("result")
            self.logins.labels(result if result in LOGIN_RESULTS else "bad_request").inc()

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
                return web.Response(
                    status=401,
                    text="send Authorization: Bearer <metrics token>\n",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            return web.Response(
                status=403, text="metrics are served to loopback only (or set [server] metrics_token_file)\n"
            )
        self.agents.set(len(await self.store.agents()))
        self.clients.set(len(await self.store.clients()))
        self.sessions.set(await self.store.count_sessions())
        return web.Response(
            body=generate_latest(self.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"},
        )
