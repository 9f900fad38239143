"""`[policy]` of the server config: session rules that are not authorization.

Parsed here, apart from the code that enforces them (security.py), so that
config.py can build a Config without importing a namespace module.
"""

from __future__ import annotations

from dataclasses import dataclass

from porthole.errors import ConfigError

KEYS = frozenset({"end_sessions_on_login_expiry"})


@dataclass(frozen=True)
class ServerPolicy:
    # End a socket's live sessions when its login token expires without `auth:refresh`.
    end_sessions_on_login_expiry: bool = False


def parse_policy(raw: object) -> ServerPolicy:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("policy: expected a table")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise ConfigError(f"policy.{unknown[0]}: unknown key")
    v = raw.get("end_sessions_on_login_expiry", False)
    if not isinstance(v, bool):
        raise ConfigError("policy.end_sessions_on_login_expiry: expected true or false")
    return ServerPolicy(end_sessions_on_login_expiry=v)
