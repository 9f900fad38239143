"""Password and device-secret hashing.

Passwords (chosen by people): scrypt, `scrypt$N$r$p$<salt, base64>$<hash, base64>`
(standard base64, padded). Verification is constant-time and refuses parameters
outside sane bounds, so a hostile config cannot make a login burn gigabytes of memory.

Device secrets (random, 32 bytes from `secrets`): a keyed hash,
`hmac-sha256$<key, base64>$<mac, base64>` with a random per-device key. A slow
hash adds nothing against guessing 256 random bits, and made every /agent
connect an unauthenticated scrypt; HMAC is compared in constant time in
microseconds. A device's secret_hash in the older scrypt format still works
(it goes through the server's bounded hash pool).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets

# 2**17 with r=8 takes 128 MiB and a few hundred milliseconds: OWASP's current
# guidance for scrypt. Affordable now that attempts are reserved before hashing
# (limiter.py) and at most a few hashes run at once (hashpool.py).
DEFAULT_N = 2**17
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


DEVICE_PREFIX = "hmac-sha256"
DEVICE_KEY_BYTES = 32


def hash_device_secret(secret: str) -> str:
    key = secrets.token_bytes(DEVICE_KEY_BYTES)
    mac = hmac.new(key, secret.encode("utf-8"), hashlib.sha256).digest()
    return f"{DEVICE_PREFIX}${_b64(key)}${_b64(mac)}"


def is_device_hash(encoded: str) -> bool:
    return _parse_device(encoded) is not None


def _parse_device(encoded: str) -> tuple[bytes, bytes] | None:
    parts = encoded.split("$")
    if len(parts) != 3 or parts[0] != DEVICE_PREFIX:
        return None
    try:
        key, mac = base64.b64decode(parts[1], validate=True), base64.b64decode(parts[2], validate=True)
    except (ValueError, binascii.Error):
        return None
    return (key, mac) if len(key) >= 16 and len(mac) == 32 else None


def verify_device_secret(secret: str, encoded: str) -> bool | None:
    """True/False for a keyed-hash secret_hash; None when it is in another format (scrypt)."""
    parsed = _parse_device(encoded)
    if parsed is None:
        return None
    key, mac = parsed
    return hmac.compare_digest(hmac.new(key, secret.encode("utf-8"), hashlib.sha256).digest(), mac)
