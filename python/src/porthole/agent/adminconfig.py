"""The agent's `[admin]` config section: where the admin gRPC API and the
Prometheus metrics listen. Kept apart from config.py so that `porthole ctl`
can find the default socket without importing the agent.

See docs/ctl.md.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from porthole.errors import ConfigError

# Environment variable that overrides the default admin socket, for the agent
# and for `porthole ctl` alike.
SOCKET_ENV = "PORTHOLE_ADMIN_SOCKET"


def default_socket_path() -> Path:
    """$PORTHOLE_ADMIN_SOCKET, else <runtime dir>/porthole/admin.sock.

    The runtime dir is $XDG_RUNTIME_DIR, else /run for root, else /tmp/porthole-<uid>
    (a folder the agent creates 0700 and checks it owns).
    """
    env = os.environ.get(SOCKET_ENV)
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "porthole" / "admin.sock"
    if os.geteuid() == 0:
        return Path("/run/porthole/admin.sock")
    return Path(f"/tmp/porthole-{os.geteuid()}") / "admin.sock"


def parse_hostport(value: str, where: str) -> tuple[str, int]:
    """ "HOST:PORT" or "[V6]:PORT" → (host, port); port 0 picks a free one."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{where}: expected HOST:PORT (e.g. 127.0.0.1:9464), got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class AdminConfig:
    # Unix socket of the admin API (mode 0600); "" → default_socket_path().
    socket: Path | None = None
    # Serve the admin API at all; false turns off socket and TLS listener.
    enabled: bool = True
    # Optional TCP listener "host:port" with TLS; needs tls_cert, tls_key and
    # tls_client_ca (mutual TLS: only clients with a certificate from that CA).
    listen: str = ""
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    # Prometheus text endpoint "host:port" (GET /metrics); "" = off.
    metrics_listen: str = ""

    @property
    def socket_path(self) -> Path:
        return self.socket or default_socket_path()

    @property
    def socket_is_default(self) -> bool:
        """Neither the config nor $PORTHOLE_ADMIN_SOCKET chose the path."""
        return self.socket is None and not os.environ.get(SOCKET_ENV)


def from_table(t: dict, rel: Callable[[str], Path]) -> AdminConfig:
    """Validates the [admin] table; relative paths through rel()."""
    known = {"enabled", "socket", "listen", "tls_cert", "tls_key", "tls_client_ca", "metrics_listen"}
    unknown = set(t) - known
    if unknown:
        raise ConfigError(f"admin: unknown key(s): {', '.join(sorted(unknown))}")

    def get_str(key: str) -> str:
        v = t.get(key, "")
        if not isinstance(v, str):
            raise ConfigError(f"admin.{key}: expected str, got {type(v).__name__}")
        return v

    enabled = t.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"admin.enabled: expected bool, got {type(enabled).__name__}")
    sock, listen, metrics = get_str("socket"), get_str("listen"), get_str("metrics_listen")
    tls = {k: get_str(k) for k in ("tls_cert", "tls_key", "tls_client_ca")}
    if listen:
        parse_hostport(listen, "admin.listen")
        missing = [k for k, v in tls.items() if not v]
        if missing:
            raise ConfigError(
                f"admin.listen needs {', '.join('admin.' + k for k in missing)}: the TCP listener "
                "is mutual TLS only (the admin API can end sessions)"
            )
    if metrics:
        parse_hostport(metrics, "admin.metrics_listen")
    return AdminConfig(
        socket=rel(sock) if sock else None,
        enabled=enabled,
        listen=listen,
        tls_cert=rel(tls["tls_cert"]) if tls["tls_cert"] else None,
        tls_key=rel(tls["tls_key"]) if tls["tls_key"] else None,
        tls_client_ca=rel(tls["tls_client_ca"]) if tls["tls_client_ca"] else None,
        metrics_listen=metrics,
    )
