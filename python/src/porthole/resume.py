"""Resume tokens: short-lived, single-use, Ed25519-signed (the grant key) JWTs
that let a user take back a detached shell in a new session (docs/protocol.md §4c).

The server signs one (`session:resume_token`) for a session of the asking user,
after checking the user's current authorization; the client sends it with
`session:open`; the server checks it again (user, expiry, authorization) and
passes it on in the offer; the device verifies it as it verifies a grant and
allows each token once.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from porthole import devtoken, wire

TYPE = "porthole-resume"
KIND = devtoken.Kind(
    TYPE, "resume token", "r_", wire.RESUME_INVALID, wire.RESUME_EXPIRED, ("rsid", "sub", "org", "tgt")
)
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
    claims = {"aud": device_id, "sub": user, "org": org, "dev": device_id, "tgt": target_id, "rsid": session_id}
    return devtoken.sign(KIND, key, claims, ttl_s=ttl_s, now=now)


def verify(token: object, key: Ed25519PublicKey, *, device_id: str, now: float | None = None) -> ResumeToken:
    """Signature, type, time and device; the caller checks user, session and single use.

    Raises PortholeError with resume_invalid or resume_expired."""
    claims = devtoken.verify(KIND, token, key, device_id=device_id, now=now)
    return ResumeToken(
        session_id=claims["rsid"],
        user=claims["sub"],
        org=claims["org"],
        device_id=claims["dev"],
        target_id=claims["tgt"],
        token_id=claims["jti"],
        expires_at=int(claims["exp"]),
    )
