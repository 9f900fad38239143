"""Share tokens: short-lived, single-use, Ed25519-signed (the grant key) JWTs that let
another user join a terminal session as a viewer (docs/protocol.md §2f).

The server signs one (`share:invite`) for a session of the asking user: for one named
user of the same org who may see the target, or, as a link, for any logged-in user of
that org who may see it (`sub` is then LINK). The joiner sends it with `session:open`
(`join`); the server checks it and the joiner's current authorization and opens the
session in view mode; the device verifies it again as it verifies a grant, allows each
token once, and refuses it after the owner revoked the session's invitations.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from porthole import grant, wire
from porthole.errors import PortholeError

TYPE = "porthole-share"
# `sub` of a link: any logged-in user of the org who may see the target.
LINK = "*"
# Long enough to pass a link on and click it, short enough that a leaked one is soon useless.
DEFAULT_TTL_S = 600


@dataclass(frozen=True)
class ShareToken:
    session_id: str  # the owner's session
    user: str  # the invitee, or LINK
    owner: str  # who invited
    org: str
    device_id: str
    target_id: str
    token_id: str  # jti: single use
    issued_at: int
    expires_at: int


def sign(
    key: Ed25519PrivateKey,
    *,
    session_id: str,
    user: str,
    owner: str,
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
        "own": owner,
        "org": org,
        "dev": device_id,
        "tgt": target_id,
        "ssid": session_id,
        "jti": "j_" + secrets.token_urlsafe(16),
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl_s,
    }
    return jwt.encode(claims, key, algorithm=grant.ALGORITHM)


def verify(token: object, key: Ed25519PublicKey, *, device_id: str, now: float | None = None) -> ShareToken:
    """Signature, type, time and device; the caller checks user, session, access and single use.

    Raises PortholeError with share_invalid or share_expired."""
    if not isinstance(token, str) or not token or len(token) > grant.MAX_GRANT_LEN:
        raise PortholeError(wire.SHARE_INVALID, "share token missing or malformed")
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[grant.ALGORITHM],
            issuer=grant.ISSUER,
            options={"require": ["exp", "iat", "nbf", "jti"], "verify_aud": False, "verify_exp": False},
        )
    except jwt.InvalidTokenError as e:
        raise PortholeError(wire.SHARE_INVALID, f"share token rejected: {type(e).__name__}") from e
    if claims.get("typ") != TYPE:
        raise PortholeError(wire.SHARE_INVALID, "not a share token")
    t = time.time() if now is None else now
    try:
        exp, iat = float(claims["exp"]), float(claims["iat"])
    except (TypeError, ValueError) as e:
        raise PortholeError(wire.SHARE_INVALID, "share token times malformed") from e
    if exp + grant.LEEWAY_S < t:
        raise PortholeError(wire.SHARE_EXPIRED, "share token expired")
    if claims.get("aud") != device_id or claims.get("dev") != device_id:
        raise PortholeError(wire.SHARE_INVALID, "share token is for another device")
    for name in ("ssid", "sub", "own", "org", "tgt", "jti"):
        if not isinstance(claims.get(name), str) or not claims.get(name):
            raise PortholeError(wire.SHARE_INVALID, f"share token claim {name!r} missing")
    return ShareToken(
        session_id=claims["ssid"],
        user=claims["sub"],
        owner=claims["own"],
        org=claims["org"],
        device_id=claims["dev"],
        target_id=claims["tgt"],
        token_id=claims["jti"],
        issued_at=int(iat),
        expires_at=int(exp),
    )


def for_user(tok: ShareToken, user: str, org: str) -> bool:
    """Whether tok lets this user join: theirs, or a link of their org."""
    return tok.org == org and tok.user in (user, LINK) and tok.owner != user
