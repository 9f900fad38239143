"""The server, wired in one place: aiohttp app + Socket.IO, start and shutdown."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
from collections.abc import Awaitable
from typing import Any

import socketio
from aiohttp import web

from porthole import audit, grant
from porthole.errors import ConfigError
from porthole.events import EventBus
from porthole.server import auditing, recordings, security, tls
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
from porthole.server.nodes import NodeKeeper, new_node_id
from porthole.server.pubsub import RedisManager
from porthole.server.rebind import Rebinder
from porthole.server.store import Store
from porthole.server.web import LoginHandler, add_routes
from porthole.tasks import end_tasks

log = logging.getLogger("porthole.server")

# Largest Socket.IO message accepted: an SDP (64 KiB) with JSON framing, or an
# inventory of 256 targets; anything bigger closes that connection.
MAX_MESSAGE_BYTES = 256 * 1024
# Shutdown: how long connections get to close before they are cut.
SHUTDOWN_GRACE_S = 5.0
CLOSE_STEP_S = 5.0  # each closing step after the drain (stop)
# Shutdown: how long the sockets told `server:draining` get to leave by themselves
# (an agent reconnects to another node at once) before the rest are disconnected.
DRAIN_GRACE_S = 2.0
DRAIN_POLL_S = 0.05


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server:
    """Wires the server: store and event bus first, then their users; start() and stop().

    `store` holds the routing state (store.py); by default the in-process MemoryStore, or
    with `server.redis_url` the RedisStore every node shares, and python-socketio's
    AsyncRedisManager carries emits to sockets on other nodes.
    """

    def __init__(self, config: Config, store: Store | None = None) -> None:
        self.config = config
        key = grant.load_private_key(config.server.signing_key)
        self.public_key = key.public_key()
        self.node_id = new_node_id()
        redis_url = config.server.redis_url
        if store is None and redis_url:
            from porthole.server.redisstore import RedisStore  # only a node of several needs redis

            store = RedisStore(redis_url)
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
            client_manager=RedisManager(redis_url) if redis_url else None,
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
        self.hub = Hub(config, self.sio, self.store, self.events, node_id=self.node_id)
        self.rebinder = Rebinder(self.hub, self.policy, self.public_key)  # signaling losses (rebind.py)
        clients = ClientNamespace(
            self.hub, self.tokens, self.policy, key, self.rebinder, audit_ok=auditing.sync_ok(self.audit)
        )
        agents = AgentNamespace(self.hub, self.devices, self.rebinder)
        self.sio.register_namespace(clients)
        self.sio.register_namespace(agents)
        self.nodes = NodeKeeper(
            self.store, self.node_id, client_gone=clients.gone, agent_gone=agents.gone, state_lost=self._reconnect_all
        )
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
        # HTTPS and WSS from this process ([server] tls_cert, tls_key); None: plain HTTP
        # (on loopback, or behind a TLS-terminating proxy: docs/deploy.md).
        self.ssl_context = tls.context(config.server.tls) if config.server.tls else None

    def reload_tls(self) -> bool:
        """Loads [server] tls_cert/tls_key again (SIGHUP, after a renewal): new connections get
        the new certificate, open ones keep theirs. A bad file is logged and the old pair kept."""
        files = self.config.server.tls
        if files is None or self.ssl_context is None:
            log.info("reload: no [server] tls_cert/tls_key, nothing to reload")
            return False
        try:
            tls.context(files)  # every check first, on a context of its own
            self.ssl_context.load_cert_chain(files.cert, files.key)
        except (ConfigError, ssl.SSLError, OSError) as e:
            log.error("reload: kept the current certificate: %s", getattr(e, "message", e))
            return False
        tls.warn_expiry(files)
        log.info("reload: certificate loaded again from %s", files.cert)
        return True

    def _origin_allowed(self, origin: str | None, environ: dict[str, Any]) -> bool:
        """Same origin (scheme and Host of this request) or a configured origin."""
        if not origin:
            return True
        if origin in self.config.server.origins:
            return True
        host = environ.get("HTTP_HOST")
        # python-engineio takes the scheme from X-Forwarded-Proto (a TLS-terminating
        # proxy's), else "http"; a request that came over our own TLS is https.
        request = environ.get("aiohttp.request")
        secure = request is not None and request.secure
        scheme = "https" if secure else environ.get("wsgi.url_scheme", "http")
        allowed = bool(host) and origin == f"{scheme}://{host}"
        if not allowed:
            log.warning("refused a Socket.IO handshake from origin %r", origin[:200])
        return allowed

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.ssl_context else 'http'}://{host}:{self.port}"

    async def start(self) -> None:
        """Listens on the configured address (port 0: a free one, see .port)."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S)
        await self._runner.setup()
        if self.config.server.tls is not None:
            tls.warn_expiry(self.config.server.tls)
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        server = getattr(site, "_server", None)
        socks = getattr(server, "sockets", None) or []
        for s in socks:
            if s.family in (socket.AF_INET, socket.AF_INET6):
                self.port = s.getsockname()[1]
                break
        log.info("listening on %s", self.url)
        if self.ssl_context is None and not _loopback(self.host) and not self.config.server.trusted_proxies:
            log.warning(
                "serving plain HTTP on %s: passwords, login tokens and device secrets cross the network in "
                "clear; set [server] tls_cert and tls_key, or put a TLS proxy in front (docs/deploy.md, TLS)",
                self.url,
            )
        if self.store.shared:
            log.info("node %s: state in Redis, shared with the other nodes", self.node_id)
            if not self.sio.manager_initialized:  # listen for other nodes' emits from now on
                self.sio.manager_initialized = True
                self.sio.manager.initialize()
        self._background.append(asyncio.create_task(self.nodes.run()))
        self._background.append(asyncio.create_task(self.hub.expire_forever(self.rebinder.expire)))
        self._background.append(asyncio.create_task(security.end_expired_logins(self.hub, self.config.policy)))
        self._background.append(asyncio.create_task(self.recordings.prune_forever()))

    def _local_sockets(self) -> list[tuple[str, str]]:
        """(sid, namespace) of every socket connected to this node."""
        return [(sid, ns) for ns in (CLIENT_NS, AGENT_NS) for sid, _ in self.sio.manager.get_participants(ns, None)]

    async def _reconnect_all(self) -> None:
        """Disconnects this node's sockets; they connect again and register anew."""
        for sid, ns in self._local_sockets():
            await self.sio.disconnect(sid, namespace=ns)

    async def _drain(self) -> None:
        """On a shared store: tells this node's sockets `server:draining` (connect to another
        node) and gives them DRAIN_GRACE_S to leave by themselves. A node alone has nowhere
        to send them: its stop stays as it was (disconnect, sessions end)."""
        if not self.store.shared or not self._local_sockets():
            return
        for ns in (CLIENT_NS, AGENT_NS):
            # ignore_queue: this node's sockets only, not every node's.
            await self.sio.emit("server:draining", {"node": self.node_id}, namespace=ns, ignore_queue=True)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_GRACE_S
        while self._local_sockets() and loop.time() < deadline:
            await asyncio.sleep(DRAIN_POLL_S)

    async def stop(self) -> None:
        """Stops accepting, drains (tells every socket to reconnect elsewhere), disconnects
        the rest, then closes within a deadline. On a shared store the sockets' state is
        left to the other nodes (nodes.py); alone, their sessions end here."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        await end_tasks(self._background, CLOSE_STEP_S, "background tasks")
        for site in list(runner.sites):
            await site.stop()
        self.hub.leaving = True
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE_S):
                await self._drain()
                await self._reconnect_all()
                await self.sio.shutdown()
        except TimeoutError:
            log.warning("shutdown: sockets did not close within %.0f s", SHUTDOWN_GRACE_S)
        # Each step has a deadline of its own: with Redis gone, a close can wait on a
        # connection that never answers, and a stop that never ends blocks a deploy.
        if isinstance(self.sio.manager, RedisManager):
            await _within(CLOSE_STEP_S, "the Socket.IO Redis manager", self.sio.manager.close())
        await _within(CLOSE_STEP_S, "the HTTP listener", runner.cleanup())
        await _within(CLOSE_STEP_S, "the store", self.store.close())
        self.hashes.close()
        self.audit.close()
        log.info("stopped")


async def _within(seconds: float, what: str, step: Awaitable[None]) -> None:
    """Awaits one closing step of stop; past its deadline it is given up and logged."""
    try:
        async with asyncio.timeout(seconds):
            await step
    except TimeoutError:
        log.warning("shutdown: %s did not close within %.0f s; given up", what, seconds)
