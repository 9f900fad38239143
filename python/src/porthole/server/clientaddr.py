"""Who is on the other end of a request: its address, through trusted proxies only.

Behind a reverse proxy every request comes from the proxy's address. The
client's own address is then the last hop of `X-Forwarded-For` that is not a
trusted proxy itself, and only when the request came from one: a client that
sends its own `X-Forwarded-For` straight to the server cannot pick its address
(and with it, dodge its rate limits or frame another address).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# X-Forwarded-For with more hops than this is not walked (a header is not a list to scan forever).
MAX_HOPS = 16


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`["127.0.0.1", "10.0.0.0/8"]` → networks; raises ValueError naming the bad entry."""
    out = []
    for v in values:
        try:
            out.append(ipaddress.ip_network(v, strict=False))
        except ValueError:
            raise ValueError(f"{v!r} is not an IP address or network") from None
    return tuple(out)


def _trusted(addr: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: `peer` itself unless it is a trusted proxy that says otherwise."""
    addr = peer or ""
    if not trusted or not forwarded_for or not _trusted(addr, trusted):
        return addr
    hops = [h.strip() for h in forwarded_for.split(",")][-MAX_HOPS:]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return addr  # a malformed hop: trust nothing beyond the proxy we know
        if not _trusted(hop, trusted):
            return hop
        addr = hop
    return addr


def of_request(request: Any, trusted: tuple[Network, ...]) -> str:
    """The client address of an aiohttp request."""
    return client_address(request.remote, request.headers.get("X-Forwarded-For"), trusted)


def of_environ(environ: dict, trusted: tuple[Network, ...]) -> str:
    """The client address of a Socket.IO connect (python-engineio's environ: its REMOTE_ADDR is
    always 127.0.0.1 under aiohttp, so the real peer comes from the request it carries)."""
    request = environ.get("aiohttp.request")
    if request is not None:
        return of_request(request, trusted)
    return client_address(environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR"), trusted)
