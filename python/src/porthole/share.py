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

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from porthole import devtoken, wire

TYPE = "porthole-share"
# `sub` of a link: any logged-in user of the org who may see the target.
LINK = "*"
# Long enough to pass a link on and click it, short enough that a leaked one is soon useless.
DEFAULT_TTL_S = 600
KIND = devtoken.Kind(
    TYPE, "share token", "j_", wire.SHARE_INVALID, wire.SHARE_EXPIRED, ("ssid", "sub", "own", "org", "tgt")
)


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
    claims = {
        "aud": device_id,
        "sub": user,
        "own": owner,
        "org": org,
        "dev": device_id,
        "tgt": target_id,
        "ssid": session_id,
    }
    return devtoken.sign(KIND, key, claims, ttl_s=ttl_s, now=now)


def verify(token: object, key: Ed25519PublicKey, *, device_id: str, now: float | None = None) -> ShareToken:
    """Signature, type, time and device; the caller checks user, session, access and single use.

    Raises PortholeError with share_invalid or share_expired."""
    claims = devtoken.verify(KIND, token, key, device_id=device_id, now=now)
    return ShareToken(
        session_id=claims["ssid"],
        user=claims["sub"],
        owner=claims["own"],
        org=claims["org"],
        device_id=claims["dev"],
        target_id=claims["tgt"],
        token_id=claims["jti"],
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
    )


def for_user(tok: ShareToken, user: str, org: str) -> bool:
    """Whether tok lets this user join: theirs, or a link of their org."""
    return tok.org == org and tok.user in (user, LINK) and tok.owner != user
