"""TURN credentials in the "TURN REST API" scheme that coturn implements
(`use-auth-secret` / `static-auth-secret`).

The signaling server and the TURN server share one secret. For each session
the server mints ``username = "<unix expiry>:<principal>"`` and
``credential = base64(HMAC-SHA1(secret, username))``; coturn recomputes the
HMAC and refuses (401) a credential that is forged or whose expiry has passed.
The secret itself never leaves the server; a minted credential is worth one
principal until its expiry. Neither is ever logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from dataclasses import dataclass

# coturn reads the principal after the first ':'; keep it to characters that
# need no escaping anywhere (a log line, an SDP, a URL).
PRINCIPAL_RE = re.compile(r"^[A-Za-z0-9_.@+-]{1,128}$")
# A secret shorter than this is guessable offline from one minted credential.
MIN_SECRET_BYTES = 16


@dataclass(frozen=True)
class TurnCredential:
    urls: tuple[str, ...]
    username: str
    credential: str
    expires_at: int

    def to_wire(self) -> dict[str, object]:
        """An RTCIceServer as browsers and pion take it."""
        return {"urls": list(self.urls), "username": self.username, "credential": self.credential}


def mint(secret: bytes, principal: str, urls: tuple[str, ...], *, expires_at: int) -> TurnCredential:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the TURN secret must be at least {MIN_SECRET_BYTES} bytes")
    if not PRINCIPAL_RE.match(principal):
        raise ValueError("the TURN principal has characters outside [A-Za-z0-9_.@+-]")
    username = f"{int(expires_at)}:{principal}"
    digest = hmac.new(secret, username.encode(), hashlib.sha1).digest()
    return TurnCredential(tuple(urls), username, base64.b64encode(digest).decode(), int(expires_at))


def mint_for(
    secret: bytes, principal: str, urls: tuple[str, ...], ttl_s: float, now: float | None = None
) -> TurnCredential:
    """A credential valid for ``ttl_s`` seconds from now."""
    return mint(secret, principal, urls, expires_at=int((time.time() if now is None else now) + ttl_s))
