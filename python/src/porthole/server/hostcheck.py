"""The `Host` allowlist against DNS rebinding (issue 14, 7).

A page on `http://evil.example:8080` whose name the attacker re-points at the
server's address would be same-origin with the server (the Socket.IO origin
check compares `Origin` with `Host`). So every HTTP request must name a host
the server knows: `[server] allowed_hosts`, by default the hosts of `origins`,
the listen host, `localhost` and any IP literal (a rebinding always goes
through a DNS name). A request for another host gets 421 `host_not_allowed`,
logged (at most LOG_PER_MINUTE lines a minute).
"""

from __future__ import annotations

import ipaddress
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from porthole import wire

log = logging.getLogger("porthole.server.hostcheck")

ANY = "*"
LOCALHOST = ("localhost", "localhost.localdomain")
LOG_PER_MINUTE = 20


def hostname(host_header: str) -> str | None:
    """The name in a Host header, lower case, without port or trailing dot; None if malformed."""
    h = host_header.strip().lower()
    if not h:
        return None
    if h.startswith("["):
        end = h.find("]")
        rest = h[end + 1 :]
        if end < 0 or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return h[1:end]
    name, _, port = h.partition(":")
    if port and not port.isdigit():
        return None
    return name.rstrip(".") or None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostAllowlist:
    def __init__(self, configured: Iterable[str], origins: Iterable[str], listen_host: str) -> None:
        configured = tuple(configured)
        self.any = ANY in configured
        if configured:
            names = {h.lower().rstrip(".") for h in configured if h != ANY}
        else:
            names = {urllib.parse.urlsplit(o).hostname or "" for o in origins} | {listen_host.lower(), *LOCALHOST}
        self.names = frozenset(n.strip("[]") for n in names if n)
        self.ip_literals = not configured  # the default lets any IP literal in
        self._window = 0.0
        self._logged = 0

    def allows(self, host_header: str | None) -> bool:
        if self.any:
            return True
        name = hostname(host_header or "")
        if name is None:
            return False
        return name in self.names or (self.ip_literals and _is_ip(name))

    def _log(self, request: web.Request) -> None:
        now = time.monotonic()
        if now - self._window > 60:
            if self._logged > LOG_PER_MINUTE:
                log.warning("refused %d more requests for hosts not allowed", self._logged - LOG_PER_MINUTE)
            self._window, self._logged = now, 0
        self._logged += 1
        if self._logged <= LOG_PER_MINUTE:
            log.warning(
                "refused a request for host %r (%s %s; not in [server] allowed_hosts)",
                (request.headers.get("Host") or "")[:200],
                request.method,
                request.path[:200],
            )

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if self.allows(request.headers.get("Host")):
            return await handler(request)
        self._log(request)
        return web.json_response(
            {"error": {"code": wire.HOST_NOT_ALLOWED, "message": "this server does not serve that host name"}},
            status=421,
        )
