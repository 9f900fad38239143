"""Device-bound tokens: the short-lived, single-use, Ed25519-signed (the grant key) JWTs
that resume tokens (resume.py) and share tokens (share.py) are. Each kind has its own
`typ`, its own claims and its own pair of codes (invalid, expired); what they share is
here: the standard claims on signing, and on verifying the signature, the type, the
time, the device (`aud` and `dev`) and that the kind's claims are present strings."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from porthole import grant
from porthole.errors import PortholeError


@dataclass(frozen=True)
class Kind:
    typ: str  # the `typ` claim
    what: str  # in messages: "resume token"
    jti_prefix: str
    invalid: str  # the wire code of a malformed, forged or misdirected token
    expired: str  # the wire code of an expired one
    required: tuple[str, ...]  # the kind's own claims, non-empty strings


def sign(kind: Kind, key: Ed25519PrivateKey, claims: dict[str, Any], *, ttl_s: int, now: float | None) -> str:
    """``claims`` (the kind's own, with `aud`/`dev`) plus iss, typ, jti and the times."""
    iat = int(now if now is not None else time.time())
    full = {
        "iss": grant.ISSUER,
        "typ": kind.typ,
        **claims,
        "jti": kind.jti_prefix + secrets.token_urlsafe(16),
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl_s,
    }
    return jwt.encode(full, key, algorithm=grant.ALGORITHM)


def verify(kind: Kind, token: object, key: Ed25519PublicKey, *, device_id: str, now: float | None) -> dict[str, Any]:
    """The claims of a token of this kind for this device; raises PortholeError with the
    kind's invalid or expired code."""
    if not isinstance(token, str) or not token or len(token) > grant.MAX_GRANT_LEN:
        raise PortholeError(kind.invalid, f"{kind.what} missing or malformed")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[grant.ALGORITHM],
            issuer=grant.ISSUER,
            options={"require": ["exp", "iat", "nbf", "jti"], "verify_aud": False, "verify_exp": False},
        )
    except jwt.InvalidTokenError as e:
        raise PortholeError(kind.invalid, f"{kind.what} rejected: {type(e).__name__}") from e
    if claims.get("typ") != kind.typ:
        raise PortholeError(kind.invalid, f"not a {kind.what}")
    t = time.time() if now is None else now
    try:
        claims["exp"], claims["iat"] = float(claims["exp"]), float(claims["iat"])
    except (TypeError, ValueError) as e:
        raise PortholeError(kind.invalid, f"{kind.what} times malformed") from e
    if claims["exp"] + grant.LEEWAY_S < t:
        raise PortholeError(kind.expired, f"{kind.what} expired")
    if claims.get("aud") != device_id or claims.get("dev") != device_id:
        raise PortholeError(kind.invalid, f"{kind.what} is for another device")
    for name in (*kind.required, "jti"):
        if not isinstance(claims.get(name), str) or not claims.get(name):
            raise PortholeError(kind.invalid, f"{kind.what} claim {name!r} missing")
    return claims
