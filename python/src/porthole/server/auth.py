"""Login tokens and their revocation (failed-attempt budgets: limiter.py).

A login token is a JWT signed with the server's Ed25519 key, like a grant, but
with its own audience ("porthole-client") and a `use` claim, so that neither
can ever pass for the other. Revoked token ids live in the server's Store
(store.py), so that every node sees the same.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from porthole import errors, grant
from porthole.errors import PortholeError
from porthole.server.store import Store

AUDIENCE = "porthole-client"
USE = "login"
# A token is a few hundred bytes; refuse anything far larger before parsing.
MAX_TOKEN_LEN = 4096


@dataclass(frozen=True)
class Identity:
    user: str
    org: str
    expires_at: float
    token_id: str = ""  # the `jti` claim: what revocation names


class TokenRevoked(PortholeError):
    """A valid login token that was revoked (code unauthenticated, as any refused token)."""


class Tokens:
    """Issues and verifies login tokens; with a store, also refuses revoked ones (`check`)."""

    def __init__(self, key: Ed25519PrivateKey, ttl_s: int, store: Store | None = None) -> None:
        self._key = key
        self._public = key.public_key()
        self.ttl_s = ttl_s
        self._store = store

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
        jti = claims.get("jti")
        return Identity(
            user=claims["sub"],
            org=claims["org"],
            expires_at=float(claims["exp"]),
            token_id=jti if isinstance(jti, str) else "",
        )

    async def check(self, token: object) -> Identity:
        """verify(), and refused when the token was revoked."""
        ident = self.verify(token)
        if self._store is not None and ident.token_id and await self._store.token_revoked(ident.token_id):
            raise TokenRevoked(errors.UNAUTHENTICATED, "token revoked: log in again")
        return ident

    async def revoke(self, ident: Identity) -> None:
        """Refuses this login token from now on (until it would have expired anyway)."""
        if self._store is None or not ident.token_id:
            raise PortholeError(errors.INTERNAL, "no store to revoke tokens in")
        await self._store.revoke_token(ident.token_id, ident.expires_at + grant.LEEWAY_S)


def token_problem(token: object) -> str:
    """Why a client token was refused, as a stable audit code (no_token, token_expired, token_invalid)."""
    if not isinstance(token, str) or not token:
        return "no_token"
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        exp = float(claims.get("exp", 0))
    except (jwt.InvalidTokenError, TypeError, ValueError):
        return "token_invalid"
    return "token_expired" if exp + grant.LEEWAY_S < time.time() else "token_invalid"
