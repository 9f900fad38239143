"""The agent's side of TLS to the server: whom it trusts, and why a connect failed.

The server's certificate is always verified (chain and host name): against
`agent.ca_file` when set (only that CA, for a private one), else against the
system's trust store. There is no switch to turn verification off. The same
context serves the Socket.IO link (uplink.py, through the aiohttp session
python-engineio opens per connection) and recording uploads (upload.py).

A connect that failed in the TLS handshake gets a code of its own in the
uplink's log and status, instead of `unreachable`:
`tls_untrusted` (the certificate chain or host name did not verify) and
`tls_failed` (any other handshake failure, e.g. plain HTTP on an https:// URL).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

import aiohttp

from porthole.errors import ConfigError

TLS_UNTRUSTED = "tls_untrusted"
TLS_FAILED = "tls_failed"
# How many links of an exception's cause/context chain are looked at.
MAX_CHAIN = 16


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verifies chain and host name; trusts `ca_file` only, or the system store when None."""
    try:
        ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except ssl.SSLError:  # an OSError too: first
        raise ConfigError(f"agent.ca_file: {ca_file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    except OSError as e:  # FileNotFoundError, PermissionError, ...
        raise ConfigError(f"agent.ca_file: cannot read {ca_file}: {e.strerror or e}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def session_factory(ctx: ssl.SSLContext) -> Callable[[], aiohttp.ClientSession]:
    """For `socketio.AsyncClient(http_session=...)`: python-engineio calls it for each
    connection (it closes its session when a connection ends), so every attempt uses `ctx`."""

    def make() -> aiohttp.ClientSession:
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx))

    return make


def _chain(exc: BaseException):
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen and len(seen) < MAX_CHAIN:
        seen.add(id(e))
        yield e
        e = e.__cause__ or e.__context__


def classify(exc: BaseException, ca_file: Path | None = None) -> tuple[str, str] | None:
    """(code, message) when `exc` (a failed connect, with its cause chain) was a TLS failure."""
    for e in _chain(exc):
        # aiohttp's ClientConnectorCertificateError is an ssl.CertificateError too, without
        # the verify fields: the ssl error it was raised from comes next in the chain.
        if isinstance(e, ssl.SSLCertVerificationError) and hasattr(e, "verify_message"):
            why = e.verify_message or str(e)
            trust = f"the CA in agent.ca_file ({ca_file})" if ca_file else "the system's trust store"
            return TLS_UNTRUSTED, (
                f"the server's certificate did not verify against {trust}: {why}; "
                "set agent.ca_file to the CA that signed the server's certificate, "
                "and connect with the host name the certificate names"
            )
        if isinstance(e, ssl.SSLError) and not isinstance(e, ssl.SSLCertVerificationError):
            return TLS_FAILED, f"TLS handshake with the server failed: {getattr(e, 'reason', None) or e}"
    return None
