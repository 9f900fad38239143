"""HTTPS and WSS served by the server itself: `[server] tls_cert` and `tls_key`.

The files are checked once, at start, and every problem stops the server with
a ConfigError (code `config_invalid`) that names the key: a file that is
missing or unreadable, not PEM, a key that does not belong to the
certificate, or a private key that every user of the machine may read.
"""

from __future__ import annotations

import datetime
import logging
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from porthole.errors import ConfigError

log = logging.getLogger("porthole.server")

# A certificate this close to its end is logged as a warning at every start.
EXPIRY_WARNING = datetime.timedelta(days=14)


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # PEM: the server's certificate, then its chain (fullchain.pem)
    key: Path  # PEM: its private key


def check_key_mode(path: Path, key: str = "server.tls_key") -> None:
    """Refuses a private key that users other than its owner and group may read or write."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        raise ConfigError(f"{key}: cannot read {path}: {e.strerror}") from e
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        raise ConfigError(
            f"{key}: {path} is readable by every user of this machine (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 0600 {path}` (or 0640 with a group the server runs in)"
        )


def _read(path: Path, key: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{key}: cannot read {path}: {e.strerror}") from e


def _certificate(path: Path) -> x509.Certificate:
    data = _read(path, "server.tls_cert")
    try:
        return x509.load_pem_x509_certificates(data)[0]
    except ValueError:
        raise ConfigError(f"server.tls_cert: {path} is not a PEM certificate (-----BEGIN CERTIFICATE-----)") from None


def context(files: TlsFiles) -> ssl.SSLContext:
    """The server's TLS context (TLS 1.2 or newer); ConfigError on any problem with the files."""
    check_key_mode(files.key)
    _read(files.key, "server.tls_key")  # unreadable: say so before OpenSSL's less clear words
    _certificate(files.cert)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(files.cert, files.key)
    except ssl.SSLError as e:
        if "KEY_VALUES_MISMATCH" in str(e):
            raise ConfigError(
                f"server.tls_key: {files.key} is not the private key of the certificate in {files.cert}"
            ) from None
        raise ConfigError(f"server.tls_key: {files.key} is not a PEM private key (or it is encrypted): {e}") from None
    except OSError as e:
        raise ConfigError(f"server.tls_cert: cannot load {files.cert} / {files.key}: {e.strerror or e}") from None
    return ctx


def warn_expiry(files: TlsFiles) -> None:
    """Logs a certificate that has expired or soon will (the server starts anyway)."""
    cert, path = _certificate(files.cert), files.cert
    now = datetime.datetime.now(datetime.UTC)
    end = cert.not_valid_after_utc
    if end <= now:
        log.error("server.tls_cert: %s expired on %s: clients will refuse it", path, end.isoformat())
    elif end - now <= EXPIRY_WARNING:
        log.warning("server.tls_cert: %s expires on %s: renew it, then restart the server", path, end.isoformat())
