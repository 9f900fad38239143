"""Resume tokens: short-lived, single-use, Ed25519-signed (the grant key) JWTs
that let a user take back a detached shell in a new session (docs/protocol.md §4c).

The server signs one (`session:resume_token`) for a session of the asking user,
after checking the user's current authorization; the client sends it with
`session:open`; the server checks it again (user, expiry, authorization) and
passes it on in the offer; the device verifies it as it verifies a grant and
allows each token once.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from porthole import grant, wire
from porthole.errors import PortholeError

TYPE = "porthole-resume"
# Long enough to open the new session, short enough that a leaked token is useless soon.
DEFAULT_TTL_S = 30


@dataclass(frozen=True)
class ResumeToken:
    session_id: str  # the detached session
    user: str
    org: str
    device_id: str
    target_id: str
    token_id: str  # jti: single use
    expires_at: int


def sign(
    key: Ed25519PrivateKey,
    *,
    session_id: str,
    user: str,
    org: str,
    device_id: str,
    target_id: str,
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
) -> str:
    iat = int(now if now is not None else time.time())
    claims = {
        "iss": grant.ISSUER,
        "typ": TYPE,
        "aud": device_id,
        "sub": user,
        "org": org,
        "dev": device_id,
        "tgt": target_id,
        "rsid": session_id,
        "jti": "r_" + secrets.token_urlsafe(16),
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl_s,
    }
    return jwt.encode(claims, key, algorithm=grant.ALGORITHM)


def verify(token: object, key: Ed25519PublicKey, *, device_id: str, now: float | None = None) -> ResumeToken:
    """Signature, type, time and device; the caller checks user, session and single use.

    Raises PortholeError with resume_invalid or resume_expired."""
    if not isinstance(token, str) or not token or len(token) > grant.MAX_GRANT_LEN:
        raise PortholeError(wire.RESUME_INVALID, "resume token missing or malformed")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[grant.ALGORITHM],
            issuer=grant.ISSUER,
            options={"require": ["exp", "iat", "nbf", "jti"], "verify_aud": False, "verify_exp": False},
        )
    except jwt.InvalidTokenError as e:
        raise PortholeError(wire.RESUME_INVALID, f"resume token rejected: {type(e).__name__}") from e
    if claims.get("typ") != TYPE:
        raise PortholeError(wire.RESUME_INVALID, "not a resume token")
    t = time.time() if now is None else now
    try:
        exp = float(claims["exp"])
    except (TypeError, ValueError) as e:
        raise PortholeError(wire.RESUME_INVALID, "resume token times malformed") from e
    if exp + grant.LEEWAY_S < t:
        raise PortholeError(wire.RESUME_EXPIRED, "resume token expired")
    if claims.get("aud") != device_id or claims.get("dev") != device_id:
        raise PortholeError(wire.RESUME_INVALID, "resume token is for another device")
    for name in ("rsid", "sub", "org", "tgt", "jti"):
        if not isinstance(claims.get(name), str) or not claims.get(name):
            raise PortholeError(wire.RESUME_INVALID, f"resume token claim {name!r} missing")
    return ResumeToken(
        session_id=claims["rsid"],
        user=claims["sub"],
        org=claims["org"],
        device_id=claims["dev"],
        target_id=claims["tgt"],
        token_id=claims["jti"],
        expires_at=int(exp),
    )
