"""The ICE servers and transport policy an offer carries for this device (the
server mints a TURN credential per session: docs/protocol.md §3), checked
before they reach porthole-core. Never logged: they hold a credential."""

from __future__ import annotations

import re
from dataclasses import dataclass

from porthole import errors
from porthole.errors import PortholeError
from porthole.rpc.v1 import sidecar_pb2 as pb

MAX_SERVERS = 8
MAX_URLS = 8
MAX_FIELD = 512
URL_RE = re.compile(r"^(stun|stuns|turn|turns):[^\s]{1,256}$")
POLICIES = ("all", "relay")


@dataclass(frozen=True)
class IceOffer:
    servers: tuple[pb.IceServer, ...] = ()
    relay_only: bool = False


def bad(message: str) -> PortholeError:
    return PortholeError(errors.BAD_REQUEST, message)


def parse(data: dict) -> IceOffer:
    raw, policy = data.get("ice_servers", []), data.get("ice_transport_policy", "all")
    if policy not in POLICIES:
        raise bad("ice_transport_policy must be 'all' or 'relay'")
    if not isinstance(raw, list) or len(raw) > MAX_SERVERS:
        raise bad(f"ice_servers must be a list of at most {MAX_SERVERS}")
    servers = []
    for i, s in enumerate(raw):
        if not isinstance(s, dict):
            raise bad(f"ice_servers[{i}] must be an object")
        urls = s.get("urls")
        urls = [urls] if isinstance(urls, str) else urls
        if (
            not isinstance(urls, list)
            or not 0 < len(urls) <= MAX_URLS
            or not all(isinstance(u, str) and URL_RE.match(u) for u in urls)
        ):
            raise bad(f"ice_servers[{i}].urls must be stun:/turn: URLs")
        extra = {k: s.get(k, "") for k in ("username", "credential")}
        if not all(isinstance(v, str) and len(v) <= MAX_FIELD for v in extra.values()):
            raise bad(f"ice_servers[{i}] username and credential must be short strings")
        servers.append(pb.IceServer(urls=urls, **extra))
    if policy == "relay" and not any(u.startswith(("turn:", "turns:")) for s in servers for u in s.urls):
        raise bad("ice_transport_policy 'relay' without a TURN server")
    return IceOffer(tuple(servers), policy == "relay")
