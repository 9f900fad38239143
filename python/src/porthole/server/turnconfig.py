"""`[server.turn]` of the server config: TURN with short-lived credentials.

    [server.turn]
    urls = ["turn:turn.example.com:3478?transport=udp", "turn:turn.example.com:3478?transport=tcp"]
    secret_file = "turn.secret"     # coturn's static-auth-secret (deploy/coturn/turnserver.conf)
    max_ttl_s = 43200               # longest a minted credential lives

The secret is read once at start (restart the server after rotating it in
coturn and here); it never leaves the server. Each session gets credentials
of its own (porthole.turn). They live as long as the login that opened the
session, at most max_ttl_s: coturn checks the expiry again whenever a client
re-authenticates (a stale nonce, every 10 minutes in the shipped config), so a
credential shorter than its session would drop a relayed session mid-way.
Parsed apart from config.py like policyconfig.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from porthole import turn
from porthole.errors import ConfigError

KEYS = frozenset({"urls", "secret_file", "max_ttl_s"})
TURN_URL_RE = re.compile(r"^turns?:[^\s?]+(\?transport=(udp|tcp))?$")
DEFAULT_MAX_TTL_S = 12 * 3600
MAX_URLS = 8


@dataclass(frozen=True)
class TurnSettings:
    urls: tuple[str, ...]
    secret: bytes = field(repr=False)
    max_ttl_s: int = DEFAULT_MAX_TTL_S


def parse_turn(raw: object, base_dir: Path) -> TurnSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError("server.turn: expected a table")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ConfigError(f"server.turn.{unknown[0]}: unknown key")
    urls = raw.get("urls")
    if isinstance(urls, str):
        urls = [urls]
    if (
        not isinstance(urls, list)
        or not urls
        or len(urls) > MAX_URLS
        or not all(isinstance(u, str) and TURN_URL_RE.match(u) for u in urls)
    ):
        raise ConfigError(
            f"server.turn.urls: 1..{MAX_URLS} URLs like 'turn:host:3478?transport=udp' "
            "(turn: or turns:, transport udp or tcp)"
        )
    path = raw.get("secret_file")
    if not isinstance(path, str) or not path:
        raise ConfigError("server.turn.secret_file: required, the path of the secret shared with coturn")
    p = Path(path) if Path(path).is_absolute() else base_dir / path
    try:
        secret = p.read_bytes().strip()
    except OSError as e:
        raise ConfigError(f"server.turn.secret_file: cannot read {p}: {e.strerror}") from e
    if len(secret) < turn.MIN_SECRET_BYTES:
        raise ConfigError(
            f"server.turn.secret_file: the secret must be at least {turn.MIN_SECRET_BYTES} bytes "
            "(make one with `openssl rand -hex 32`)"
        )
    ttl = raw.get("max_ttl_s", DEFAULT_MAX_TTL_S)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 60 <= ttl <= 7 * 86400:
        raise ConfigError("server.turn.max_ttl_s: an integer number of seconds, 60..604800")
    return TurnSettings(tuple(urls), secret, ttl)
