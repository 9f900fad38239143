"""Agent configuration: one TOML file (plus a few flags) → one validated AgentConfig.

Paths in the file are relative to the file's folder. See docs/configuration.md.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from porthole import audit, wire
from porthole.agent import adminconfig, coresock, recstore, screenconfig, tls
from porthole.agent import policy as policy_mod
from porthole.agent import recording as recording_mod
from porthole.errors import ConfigError

DEVICE_ID_RE = wire.DEVICE_ID_RE
# The shell started in a container unless the config says otherwise: bash when
# the image has it, else the POSIX sh every image has.
# Reconnect to the signaling server: the first delay after a loss, doubling up
# to the cap (each jittered; agent/uplink.py). One second is quick after a
# server restart; thirty keeps a fleet from hammering a server that is down.
DEFAULT_RECONNECT_DELAY_S = 1.0
DEFAULT_RECONNECT_DELAY_MAX_S = 30.0
# Bounds: below 0.1 s a down server is hammered; above an hour a device is
# away too long after the server returns.
MIN_RECONNECT_DELAY_S, MAX_RECONNECT_DELAY_S = 0.1, 3600.0
# agent.server_url as a list: the server nodes (a fleet's few, not a directory).
MAX_SERVER_URLS = 32
DEFAULT_SHELL = ["/bin/sh", "-c", "if command -v bash >/dev/null 2>&1; then exec bash -i; else exec sh -i; fi"]


@dataclass(frozen=True)
class SidecarConfig:
    binary: str
    socket_path: Path
    # True when socket_path is the default one in the agent's private folder (agent/coresock.py).
    socket_is_default: bool = False
    ice_interfaces: tuple[str, ...] = ()
    ice_ips: tuple[str, ...] = ()
    # Remote candidate ranges (CIDR) checked although refused by default (porthole-core's remote_filter.go).
    ice_remote_allow: tuple[str, ...] = ()
    ice_loopback: bool = False
    udp_port_min: int = 0
    udp_port_max: int = 0
    udp_port: int = 0
    ice_servers: tuple[str, ...] = ()
    mdns: str = "off"
    log_level: str = "info"
    # How long a session whose ICE failed after it had connected waits for the client's ICE restart.
    ice_restart_wait_s: int = 60

    def argv(self) -> list[str]:
        """Command line of porthole-core for this config (no secrets in it)."""
        args = [self.binary, "--listen", str(self.socket_path), "--log-level", self.log_level, "--mdns", self.mdns]
        if self.ice_interfaces:
            args += ["--ice-interfaces", ",".join(self.ice_interfaces)]
        if self.ice_ips:
            args += ["--ice-ips", ",".join(self.ice_ips)]
        if self.ice_remote_allow:
            args += ["--ice-remote-allow", ",".join(self.ice_remote_allow)]
        if self.ice_loopback:
            args += ["--ice-loopback"]
        if self.udp_port:
            args += ["--ice-udp-port", str(self.udp_port)]
        elif self.udp_port_min or self.udp_port_max:
            args += ["--ice-udp-port-min", str(self.udp_port_min), "--ice-udp-port-max", str(self.udp_port_max)]
        for url in self.ice_servers:
            args += ["--ice-server", url]
        args += ["--ice-restart-wait", f"{self.ice_restart_wait_s}s"]
        return args


@dataclass(frozen=True)
class TargetsConfig:
    docker: bool = True
    docker_socket: str = "/var/run/docker.sock"
    containers: tuple[str, ...] = ("*",)
    host_shell: bool = False
    shell: tuple[str, ...] = tuple(DEFAULT_SHELL)
    host_shell_command: tuple[str, ...] = ("/bin/bash", "-i")
    user: str = policy_mod.DEFAULT_USER  # exec user in containers; "" = the image's default
    # Refuse to start when the Docker daemon is in another PID namespace (agent/hostpids.py).
    require_host_pids: bool = True


@dataclass(frozen=True)
class AgentConfig:
    device_id: str
    server_url: str  # the first of server_urls
    secret_file: Path
    grant_public_key: Path
    sidecar: SidecarConfig
    # The CA that signed an https:// server's certificate (agent/tls.py); None = the system's store.
    ca_file: Path | None = None
    targets: TargetsConfig = field(default_factory=TargetsConfig)
    inventory_interval_s: float = 5.0
    max_sessions: int = 64
    # A terminal whose connection is lost keeps its shell detached this long for a resume
    # (docs/protocol.md §4c); 0 = off: the shell is killed with its connection.
    resume_grace_s: float = 300.0
    # The scrollback porthole-core keeps of a detached terminal (the oldest bytes dropped).
    resume_scrollback_bytes: int = 1 << 20
    log_level: str = "info"
    reconnect_delay_s: float = DEFAULT_RECONNECT_DELAY_S
    reconnect_delay_max_s: float = DEFAULT_RECONNECT_DELAY_MAX_S
    policy: policy_mod.Policy = field(default_factory=policy_mod.Policy)
    audit: audit.AuditConfig = field(default_factory=audit.AuditConfig)
    recording: recording_mod.RecordingConfig = field(default_factory=recording_mod.RecordingConfig)
    recstore: recstore.StoreConfig = field(default_factory=recstore.StoreConfig)  # [recording] cap and retention
    admin: adminconfig.AdminConfig = field(default_factory=adminconfig.AdminConfig)
    screens: tuple[screenconfig.ScreenConfig, ...] = ()
    # Every server node to try, in order (uplink.py moves to the next on each loss).
    server_urls: tuple[str, ...] = ()

    def read_secret(self) -> str:
        """Re-read on every connection attempt, so a rotated secret takes effect."""
        try:
            secret = self.secret_file.read_text().strip()
        except OSError as e:
            raise ConfigError(f"agent.secret_file: cannot read {self.secret_file}: {e.strerror}") from e
        if not secret:
            raise ConfigError(f"agent.secret_file: {self.secret_file} is empty")
        return secret


def _default_core_binary() -> str:
    env = os.environ.get("PORTHOLE_CORE")
    if env:
        return env
    found = shutil.which("porthole-core")
    if found:
        return found
    repo_bin = Path(__file__).resolve().parents[4] / "bin" / "porthole-core"
    return str(repo_bin)


def _cidrs(table: dict, key: str) -> tuple[str, ...]:
    out = _str_list(table, key, "sidecar", ())
    for v in out:
        try:
            ipaddress.ip_network(v, strict=False)
        except ValueError:
            raise ConfigError(f"sidecar.{key}: {v!r} is not an IP range (CIDR)") from None
    return out


def _get(table: dict, key: str, typ: type | tuple[type, ...], where: str, default=None, required=False):
    if key not in table:
        if required:
            raise ConfigError(f"{where}.{key} is required")
        return default
    value = table[key]
    if typ is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
        raise ConfigError(f"{where}.{key}: expected {getattr(typ, '__name__', typ)}, got {type(value).__name__}")
    return value


def _str_list(table: dict, key: str, where: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = _get(table, key, list, where, default=list(default))
    if not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key}: expected a list of strings")
    return tuple(value)


def load(path: Path, *, server_url: str | None = None) -> AgentConfig:
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as e:
        raise ConfigError(f"cannot read config {path}: {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e
    return from_dict(raw, base=path.parent, server_url=server_url)


def _loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_unspecified  # 0.0.0.0 and :: connect to this machine too


def _ice_restart_wait(s: dict) -> int:
    v = _get(s, "ice_restart_wait_s", int, "sidecar", default=60)
    if not 1 <= v <= 3600:
        raise ConfigError("sidecar.ice_restart_wait_s: 1..3600")
    return int(v)


def from_dict(raw: dict, *, base: Path, server_url: str | None = None) -> AgentConfig:
    known = {"agent", "targets", "sidecar", "admin", "policy", "audit", "recording", "screens"}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(sorted(unknown))}")
    a = _get(raw, "agent", dict, "config", required=True)
    t = _get(raw, "targets", dict, "config", default={})
    s = _get(raw, "sidecar", dict, "config", default={})

    device_id = _get(a, "device_id", str, "agent", required=True)
    if not DEVICE_ID_RE.match(device_id):
        raise ConfigError("agent.device_id: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit")
    urls = _server_urls(a, server_url)

    def rel(p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else (base / q)

    mdns = _get(s, "mdns", str, "sidecar", default="off")
    if mdns not in ("off", "query"):
        raise ConfigError("sidecar.mdns: 'off' or 'query'")
    ports = {k: _get(s, k, int, "sidecar", default=0) for k in ("udp_port_min", "udp_port_max", "udp_port")}
    for k, v in ports.items():
        if not 0 <= v <= 65535:
            raise ConfigError(f"sidecar.{k}: 0..65535")
    if (ports["udp_port_min"] or ports["udp_port_max"]) and not 0 < ports["udp_port_min"] <= ports["udp_port_max"]:
        raise ConfigError("sidecar.udp_port_min/udp_port_max: need 0 < min <= max")
    sock = _get(s, "socket", str, "sidecar", default="")
    sidecar = SidecarConfig(
        binary=_get(s, "binary", str, "sidecar", default="") or _default_core_binary(),
        socket_path=rel(sock) if sock else coresock.default_path(device_id),
        socket_is_default=not sock,
        ice_interfaces=_str_list(s, "ice_interfaces", "sidecar", ()),
        ice_ips=_str_list(s, "ice_ips", "sidecar", ()),
        ice_remote_allow=_cidrs(s, "ice_remote_allow"),
        ice_loopback=_get(s, "ice_loopback", bool, "sidecar", default=False),
        ice_servers=_str_list(s, "ice_servers", "sidecar", ()),
        mdns=mdns,
        log_level=_get(s, "log_level", str, "sidecar", default="info"),
        ice_restart_wait_s=_ice_restart_wait(s),
        **ports,
    )
    shell = _str_list(t, "shell", "targets", tuple(DEFAULT_SHELL))
    if not shell:
        raise ConfigError("targets.shell: must not be empty")
    targets = TargetsConfig(
        docker=_get(t, "docker", bool, "targets", default=True),
        docker_socket=_get(t, "docker_socket", str, "targets", default="/var/run/docker.sock"),
        containers=_str_list(t, "containers", "targets", ("*",)),
        host_shell=_get(t, "host_shell", bool, "targets", default=False),
        shell=shell,
        host_shell_command=_str_list(t, "host_shell_command", "targets", ("/bin/bash", "-i")),
        user=_get(t, "user", str, "targets", default=policy_mod.DEFAULT_USER),
        require_host_pids=_get(t, "require_host_pids", bool, "targets", default=True),
    )
    max_sessions = _get(a, "max_sessions", int, "agent", default=64)
    if not 1 <= max_sessions <= 10000:
        raise ConfigError("agent.max_sessions: 1..10000")
    resume_grace = _get(a, "resume_grace_s", float, "agent", default=300.0)
    if not 0 <= resume_grace <= 86400:
        raise ConfigError("agent.resume_grace_s: 0..86400 (0 = off)")
    scrollback = _get(a, "resume_scrollback_bytes", int, "agent", default=1 << 20)
    if not 4096 <= scrollback <= 16 << 20:
        raise ConfigError("agent.resume_scrollback_bytes: 4096..16777216")
    interval = _get(a, "inventory_interval_s", float, "agent", default=5.0)
    if not 0.2 <= interval <= 3600:
        raise ConfigError("agent.inventory_interval_s: 0.2..3600")
    delay, delay_max = _reconnect_delays(a)
    ca = _get(a, "ca_file", str, "agent", default="")
    ca_file = rel(ca) if ca else None
    tls.client_context(ca_file)  # a missing or unreadable CA file stops the start here
    rec_raw = raw.get("recording")
    rec_raw = dict(rec_raw) if isinstance(rec_raw, dict) else rec_raw
    rec_store = recstore.parse(rec_raw) if isinstance(rec_raw, dict) else recstore.StoreConfig()
    return AgentConfig(
        device_id=device_id,
        server_url=urls[0],
        server_urls=urls,
        secret_file=rel(_get(a, "secret_file", str, "agent", required=True)),
        grant_public_key=rel(_get(a, "grant_public_key", str, "agent", required=True)),
        sidecar=sidecar,
        ca_file=ca_file,
        targets=targets,
        inventory_interval_s=interval,
        max_sessions=max_sessions,
        resume_grace_s=float(resume_grace),
        resume_scrollback_bytes=scrollback,
        log_level=_get(a, "log_level", str, "agent", default="info"),
        reconnect_delay_s=delay,
        reconnect_delay_max_s=delay_max,
        policy=policy_mod.parse(raw.get("policy"), exec_user=targets.user),
        audit=audit.parse_config(raw.get("audit"), base),
        recording=recording_mod.parse(rec_raw, base),
        recstore=rec_store,
        admin=adminconfig.from_table(_get(raw, "admin", dict, "config", default={}), rel),
        screens=screenconfig.parse(raw.get("screens")),
    )


def _server_urls(a: dict, override: str | None) -> tuple[str, ...]:
    """agent.server_url: one URL (a server, or a load balancer in front of several nodes)
    or a list of the nodes' URLs; each is checked."""
    raw = override or _get(a, "server_url", (str, list), "agent", required=True)
    urls = [raw] if isinstance(raw, str) else raw
    if not urls or len(urls) > MAX_SERVER_URLS:
        raise ConfigError(f"agent.server_url: one URL or a list of 1..{MAX_SERVER_URLS}")
    insecure_ok = _get(a, "allow_insecure_http", bool, "agent", default=False)
    for i, url in enumerate(urls):
        key = "agent.server_url" if isinstance(raw, str) else f"agent.server_url[{i}]"
        if not isinstance(url, str) or not re.match(r"^https?://", url):
            raise ConfigError(f"{key}: must start with http:// or https://")
        if url.startswith("http://") and not _loopback(url) and not insecure_ok:
            raise ConfigError(
                f"{key}: plain http:// to a server that is not on this machine would send the "
                "device secret in clear; use https://, or set agent.allow_insecure_http = true on a "
                "private network you trust"
            )
    if len(set(urls)) != len(urls):
        raise ConfigError("agent.server_url: the same URL twice")
    return tuple(urls)


def _reconnect_delays(a: dict) -> tuple[float, float]:
    lo, hi = MIN_RECONNECT_DELAY_S, MAX_RECONNECT_DELAY_S
    delay = _get(a, "reconnect_delay_s", float, "agent", default=DEFAULT_RECONNECT_DELAY_S)
    if not lo <= delay <= hi:
        raise ConfigError(f"agent.reconnect_delay_s: {lo:g}..{hi:g} seconds, got {delay:g}")
    delay_max = _get(a, "reconnect_delay_max_s", float, "agent", default=max(delay, DEFAULT_RECONNECT_DELAY_MAX_S))
    if not lo <= delay_max <= hi:
        raise ConfigError(f"agent.reconnect_delay_max_s: {lo:g}..{hi:g} seconds, got {delay_max:g}")
    if delay_max < delay:
        raise ConfigError(
            f"agent.reconnect_delay_max_s ({delay_max:g}) must not be below agent.reconnect_delay_s ({delay:g})"
        )
    return delay, delay_max
