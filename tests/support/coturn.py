"""A real coturn for the relay tests: porthole.bench.coturn, started inside a
test namespace when given one (tests/support/topology.py)."""

from __future__ import annotations

from pathlib import Path

from porthole.bench.coturn import Coturn
from porthole.bench.coturn import start_coturn as _start


def start_coturn(
    tmp: Path, listen_ip: str, *, allowed_peers: tuple[str, ...] = (), ns=None, relay_to_self: bool = False
) -> Coturn:
    prefix = tuple(ns.cmd()) if ns is not None else ()
    return _start(tmp, listen_ip, allowed_peers=allowed_peers, prefix=prefix, relay_to_self=relay_to_self)
