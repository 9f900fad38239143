"""The server, wired in one place: aiohttp app + Socket.IO, start and shutdown."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import socketio
from aiohttp import web

from porthole import audit, grant
from porthole.events import EventBus
from porthole.server import auditing, recordings, security
from porthole.server.agent_ns import AgentNamespace
from porthole.server.auth import Tokens
from porthole.server.authz import Policy
from porthole.server.client_ns import ClientNamespace
from porthole.server.config import Config
from porthole.server.deviceauth import DeviceAuth
from porthole.server.hashpool import HashPool
from porthole.server.hostcheck import HostAllowlist
from porthole.server.hub import AGENT_NS, CLIENT_NS, Hub
from porthole.server.limiter import AttemptLimiter
from porthole.server.memstore import MemoryStore
from porthole.server.metrics import ServerMetrics
from porthole.server.store import Store
from porthole.server.web import LoginHandler, add_routes

log = logging.getLogger("porthole.server")

# Largest Socket.IO message accepted: an SDP (64 KiB) with JSON framing, or an
# inventory of 256 targets; anything bigger closes that connection.
MAX_MESSAGE_BYTES = 256 * 1024
# Shutdown: how long connections get to close before they are cut.
SHUTDOWN_GRACE_S = 5.0


class Server:
    """Wires the server: store and event bus first, then their users; start() and stop().

    `store` holds the routing state (store.py); by default the in-process MemoryStore.
    """

    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        key = grant.load_private_key(config.server.signing_key)
        self.public_key = key.public_key()
        self.store: Store = store if store is not None else MemoryStore()
        # Session lifecycle, connects and logins are published here; audit subscribes
        # first (a sync audit's verdict is read right after session.opened), then
        # metrics and recordings.
        self.events = EventBus()
        self.audit = audit.AuditSink(config.audit, source="server")
        self.events.subscribe(auditing.subscriber(self.audit))
        self.metrics = ServerMetrics(self.store, config.server.metrics_token_file)
        self.events.subscribe(self.metrics.on_event)
        self.tokens = Tokens(key, config.server.token_ttl_s, self.store)
        self.policy = Policy(config)
        self.limiter = AttemptLimiter(self.store, config.server.login_window_s)
        self.hashes = HashPool()  # every scrypt of an unauthenticated caller runs here
        self.devices = DeviceAuth(config, self.limiter, self.hashes, self.events)
        self.recordings = recordings.Store(config, self.tokens, self.policy, self.audit)
        self.recordings.devices = self.devices
        self.events.subscribe(self.recordings.on_event)
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            cors_allowed_origins=self._origin_allowed,
            # Events of one socket are handled one after the other, in order:
            # an offer is relayed before the candidates sent after it.
            async_handlers=False,
            # Only /client and /agent; the default namespace "/" is refused.
            namespaces=[CLIENT_NS, AGENT_NS],
            max_http_buffer_size=MAX_MESSAGE_BYTES,
            logger=False,
            engineio_logger=False,
        )
        self.hub = Hub(config, self.sio, self.store, self.events)
        self.sio.register_namespace(
            ClientNamespace(self.hub, self.tokens, self.policy, key, audit_ok=auditing.sync_ok(self.audit))
        )
        self.sio.register_namespace(AgentNamespace(self.hub, self.devices))
        self.hosts = HostAllowlist(config.server.allowed_hosts, config.server.origins, config.server.host)
        self.app = web.Application(middlewares=[self.hosts.middleware])
        add_routes(
            self.app, LoginHandler(self.policy, self.tokens, self.limiter, self.hashes, config.server, self.events)
        )
        self.recordings.add_routes(self.app)
        self.app.router.add_get("/metrics", self.metrics.handler)
        self._background: list[asyncio.Task] = []
        self.sio.attach(self.app)
        self._runner: web.AppRunner | None = None
        self.host = config.server.host
        self.port = config.server.port

    def _origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """Same origin (scheme and Host of this request) or a configured origin."""
        if not origin:
            return True
        if origin in self.config.server.origins:
            return True
        host = environ.get("HTTP_HOST")
        scheme = environ.get("wsgi.url_scheme", "http")
        allowed = bool(host) and origin == f"{scheme}://{host}"
        if not allowed:
            log.warning("refused a Socket.IO handshake from origin %r", origin[:200])
        return allowed

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Listens on the configured address (port 0: a free one, see .port)."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        socks = getattr(server, "sockets", None) or []
        for s in socks:
            if s.family in (socket.AF_INET, socket.AF_INET6):
                self.port = s.getsockname()[1]
                break
        log.info("listening on %s", self.url)
        self._background.append(asyncio.create_task(self.hub.expire_forever()))
        self._background.append(asyncio.create_task(security.end_expired_logins(self.hub, self.config.policy)))
        self._background.append(asyncio.create_task(self.recordings.prune_forever()))

    async def stop(self) -> None:
        """Stops accepting, disconnects every socket, then closes within a deadline."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        for t in self._background:
            t.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for site in list(runner.sites):
            await site.stop()
        sockets = [(c.sid, CLIENT_NS) for c in await self.store.clients()]
        sockets += [(a.sid, AGENT_NS) for a in await self.store.agents()]
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE_S):
                for sid, ns in sockets:
                    await self.sio.disconnect(sid, namespace=ns)
                await self.sio.shutdown()
        except TimeoutError:
            log.warning("shutdown: sockets did not close within %.0f s", SHUTDOWN_GRACE_S)
        await runner.cleanup()
        self.hashes.close()
        self.audit.close()
        log.info("stopped")
