"""Session grants: short-lived Ed25519-signed JWTs, one per session.

The server signs a grant after it has authorized a session; the agent verifies
it with the server's public key before it creates anything (docs/protocol.md §4).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from porthole import errors, filedirs
from porthole.errors import PortholeError

ISSUER = "porthole-server"
ALGORITHM = "EdDSA"
# Long enough for a browser to send its offer after session:open, short enough
# that a leaked grant is useless soon.
DEFAULT_TTL_S = 60
# Clock skew tolerated between server and device.
LEEWAY_S = 5
KINDS = ("terminal", "screen")
MODES = ("interactive", "view")
# A grant is a few hundred bytes; anything far larger is not one.
MAX_GRANT_LEN = 4096
# File transfer on the `files` channel (docs/protocol.md §5d): which directions the grant
# allows (claim `files`, absent = "neither"), the largest file (claim `fmax`, bytes) and the
# folders it may use (claim `fdirs`, absent = filedirs.DEFAULT).
FILE_DIRECTIONS = ("neither", "upload", "download", "both")


@dataclass(frozen=True)
class Grant:
    session_id: str
    user: str
    org: str
    device_id: str
    target_id: str
    kind: str
    mode: str
    issued_at: int
    expires_at: int
    # The signed token itself: a device re-announces its live sessions with it (agent:sessions).
    token: str = field(default="", repr=False, compare=False)
    files: str = "neither"  # FILE_DIRECTIONS
    files_max_bytes: int = 0
    file_dirs: tuple[str, ...] = filedirs.DEFAULT


def generate_keypair() -> tuple[bytes, bytes]:
    """Returns (private PEM, public PEM) of a new Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise errors.ConfigError(f"{path}: not an Ed25519 private key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise errors.ConfigError(f"{path}: not an Ed25519 public key")
    return key


def sign(
    key: Ed25519PrivateKey,
    *,
    session_id: str,
    user: str,
    org: str,
    device_id: str,
    target_id: str,
    kind: str = "terminal",
    mode: str = "interactive",
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
    files: str = "neither",
    files_max_bytes: int = 0,
    file_dirs: tuple[str, ...] = filedirs.DEFAULT,
) -> str:
    if kind not in KINDS or mode not in MODES:
        raise ValueError(f"bad kind/mode {kind!r}/{mode!r}")
    if files not in FILE_DIRECTIONS or files_max_bytes < 0:
        raise ValueError(f"bad files policy {files!r}/{files_max_bytes!r}")
    if why := filedirs.list_problem(file_dirs):
        raise ValueError(f"bad file_dirs: {why}")
    iat = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "aud": device_id,
        "sub": user,
        "org": org,
        "sid": session_id,
        "jti": session_id,
        "dev": device_id,
        "tgt": target_id,
        "kind": kind,
        "mode": mode,
        "iat": iat,
        "nbf": iat,
        "exp": iat + ttl_s,
    }
    if files != "neither":
        claims.update(files=files, fmax=files_max_bytes, fdirs=list(file_dirs))
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def verify(
    token: object, key: Ed25519PublicKey, *, device_id: str, now: float | None = None, check_expiry: bool = True
) -> Grant:
    """Checks signature, issuer, time and audience (this device); returns the grant.

    check_expiry=False: the server's own check of a grant a device re-announces for a
    session that is live on it (long past the grant's lifetime, which only bounds the offer).

    Raises PortholeError with grant_invalid, grant_expired or grant_wrong_device.
    Replay and target checks are the caller's (it knows its sessions and targets).
    """
    if not isinstance(token, str) or not token or len(token) > MAX_GRANT_LEN:
        raise PortholeError(errors.GRANT_INVALID, "grant missing or malformed")
    try:
        # Signature and issuer here; time and audience below, each with its own code.
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={
                "require": ["exp", "iat", "nbf", "aud", "iss"],
                "verify_aud": False,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.InvalidTokenError as e:
        raise PortholeError(errors.GRANT_INVALID, f"grant rejected: {type(e).__name__}") from e
    t = time.time() if now is None else now
    try:
        exp, nbf = float(claims["exp"]), float(claims["nbf"])
    except (TypeError, ValueError) as e:
        raise PortholeError(errors.GRANT_INVALID, "grant times malformed") from e
    if check_expiry and exp + LEEWAY_S < t:
        raise PortholeError(errors.GRANT_EXPIRED, "grant expired")
    if nbf - LEEWAY_S > t:
        raise PortholeError(errors.GRANT_INVALID, "grant not valid yet")
    if claims.get("aud") != device_id or claims.get("dev") != device_id:
        raise PortholeError(errors.GRANT_WRONG_DEVICE, "grant is for another device")
    for name in ("sid", "tgt", "sub", "org", "kind", "mode"):
        if not isinstance(claims.get(name), str) or not claims.get(name):
            raise PortholeError(errors.GRANT_INVALID, f"grant claim {name!r} missing")
    if claims["kind"] not in KINDS or claims["mode"] not in MODES:
        raise PortholeError(errors.GRANT_INVALID, "grant kind or mode unknown")
    files = claims.get("files", "neither")
    fmax = claims.get("fmax", 0)
    if files not in FILE_DIRECTIONS or not isinstance(fmax, int) or isinstance(fmax, bool) or fmax < 0:
        raise PortholeError(errors.GRANT_INVALID, "grant files policy malformed")
    fdirs = claims.get("fdirs", list(filedirs.DEFAULT))
    if filedirs.list_problem(fdirs):
        raise PortholeError(errors.GRANT_INVALID, "grant file folders malformed")
    return Grant(
        session_id=claims["sid"],
        user=claims["sub"],
        org=claims["org"],
        device_id=claims["dev"],
        target_id=claims["tgt"],
        kind=claims["kind"],
        mode=claims["mode"],
        issued_at=int(claims["iat"]),
        expires_at=int(exp),
        token=token,
        files=files,
        files_max_bytes=fmax,
        file_dirs=tuple(filedirs.normalize(d) for d in fdirs),
    )
