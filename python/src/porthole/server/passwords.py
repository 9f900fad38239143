"""Password and device-secret hashing with the standard library's scrypt.

Format: `scrypt$N$r$p$<salt, base64>$<hash, base64>` (standard base64, padded).
Verification is constant-time and refuses parameters outside sane bounds, so a
hostile config cannot make a login burn gigabytes of memory.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets

# 2**14 with r=8 takes 16 MiB and tens of milliseconds: the usual interactive
# setting; logins are rate limited, so this bounds an attacker's guesses.
DEFAULT_N = 2**14
DEFAULT_R = 8
DEFAULT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
# Upper bounds accepted when reading a hash (memory is 128 * N * r bytes).
MAX_N = 2**20
MAX_R = 32
MAX_P = 16
PREFIX = "scrypt"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = DEFAULT_N, r: int = DEFAULT_R, p: int = DEFAULT_P) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password.encode("utf-8"), salt, n, r, p, HASH_BYTES)
    return f"{PREFIX}${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def _scrypt(secret: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    maxmem = 128 * n * r * (p + 1) + 1024 * 1024
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, dklen=dklen, maxmem=maxmem)


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != PREFIX:
        return None
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        digest = base64.b64decode(parts[5], validate=True)
    except (ValueError, binascii.Error):
        return None
    if n < 2 or n & (n - 1) or n > MAX_N or not 1 <= r <= MAX_R or not 1 <= p <= MAX_P:
        return None
    if len(salt) < 8 or not 16 <= len(digest) <= 64:
        return None
    return n, r, p, salt, digest


def is_valid_hash(encoded: str) -> bool:
    return _parse(encoded) is not None


def verify_password(password: str, encoded: str) -> bool:
    """True when password matches; False for a wrong password or a bad hash."""
    parsed = _parse(encoded)
    if parsed is None:
        return False
    n, r, p, salt, digest = parsed
    candidate = _scrypt(password.encode("utf-8"), salt, n, r, p, len(digest))
    return hmac.compare_digest(candidate, digest)


@functools.cache
def dummy_hash() -> str:
    """Checked against when the user does not exist, so that an unknown name costs
    as much time as a wrong password and names cannot be probed by timing."""
    return hash_password(secrets.token_urlsafe(16))
