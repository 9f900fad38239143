"""Login tokens and the failed-login rate limiter.

A login token is a JWT signed with the server's Ed25519 key, like a grant, but
with its own audience ("porthole-client") and a `use` claim, so that neither
can ever pass for the other.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from porthole import errors, grant
from porthole.errors import PortholeError

AUDIENCE = "porthole-client"
USE = "login"
# A token is a few hundred bytes; refuse anything far larger before parsing.
MAX_TOKEN_LEN = 4096
# How many (username, address) pairs the limiter remembers; the oldest is
# forgotten first, so a flood of made-up names cannot grow memory without bound.
MAX_TRACKED_LOGINS = 10000


@dataclass(frozen=True)
class Identity:
    user: str
    org: str
    expires_at: float


class Tokens:
    def __init__(self, key: Ed25519PrivateKey, ttl_s: int) -> None:
        self._key = key
        self._public = key.public_key()
        self.ttl_s = ttl_s

    def issue(self, user: str, org: str, now: float | None = None) -> str:
        iat = int(time.time() if now is None else now)
        claims = {
            "iss": grant.ISSUER,
            "aud": AUDIENCE,
            "use": USE,
            "sub": user,
            "org": org,
            "jti": secrets.token_urlsafe(12),
            "iat": iat,
            "nbf": iat,
            "exp": iat + self.ttl_s,
        }
        return jwt.encode(claims, self._key, algorithm=grant.ALGORITHM)

    def verify(self, token: object) -> Identity:
        """Raises PortholeError(unauthenticated) unless token is valid now."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LEN:
            raise PortholeError(errors.UNAUTHENTICATED, "missing or malformed token")
        try:
            claims = jwt.decode(
                token,
                self._public,
                algorithms=[grant.ALGORITHM],
                audience=AUDIENCE,
                issuer=grant.ISSUER,
                leeway=grant.LEEWAY_S,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError as e:
            raise PortholeError(errors.UNAUTHENTICATED, "token expired: log in again") from e
        except jwt.InvalidTokenError as e:
            raise PortholeError(errors.UNAUTHENTICATED, "invalid token") from e
        if claims.get("use") != USE or not isinstance(claims.get("org"), str):
            raise PortholeError(errors.UNAUTHENTICATED, "invalid token")
        return Identity(user=claims["sub"], org=claims["org"], expires_at=float(claims["exp"]))


class LoginLimiter:
    """At most `max_failures` failed logins per key within `window_s` seconds."""

    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def _recent(self, key: tuple[str, str]) -> deque[float] | None:
        q = self._failures.get(key)
        if q is None:
            return None
        cutoff = self._clock() - self.window_s
        while q and q[0] < cutoff:
            q.popleft()
        if not q:
            del self._failures[key]
            return None
        return q

    def blocked(self, key: tuple[str, str]) -> bool:
        q = self._recent(key)
        return q is not None and len(q) >= self.max_failures

    def failed(self, key: tuple[str, str]) -> None:
        q = self._recent(key)
        if q is None:
            q = self._failures[key] = deque(maxlen=self.max_failures)
        self._failures.move_to_end(key)
        q.append(self._clock())
        while len(self._failures) > MAX_TRACKED_LOGINS:
            self._failures.popitem(last=False)

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)
