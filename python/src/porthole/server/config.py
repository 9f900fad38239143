"""The server's configuration: one TOML file → frozen dataclasses, validated once.

See docs/configuration.md for the format. Every problem raises ConfigError with
a message that names the offending key, e.g. `users[1].grants[0].mode`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from porthole import audit, filedirs, grant
from porthole.errors import ConfigError
from porthole.server import clientaddr, passwords, tls
from porthole.server.policyconfig import ServerPolicy, parse_policy
from porthole.server.recordings import RecordingsConfig
from porthole.server.recordings import parse_config as parse_recordings
from porthole.server.tls import TlsFiles
from porthole.server.turnconfig import TurnSettings, parse_turn

DEFAULT_LISTEN = "127.0.0.1:8080"
# Login tokens: long enough for a working session, short enough that a leaked one
# soon stops opening new sessions (sockets already open keep working).
DEFAULT_TOKEN_TTL_S = 900
DEFAULT_GRANT_TTL_S = grant.DEFAULT_TTL_S
DEFAULT_MAX_SESSIONS_PER_USER = 16
DEFAULT_SIGNALING_GRACE_S = 60
# Failed logins per (username, remote address) tolerated within the window.
DEFAULT_LOGIN_MAX_FAILURES = 5
DEFAULT_LOGIN_WINDOW_S = 60
# `[[users.grants]] file_max_bytes`: the largest file moved on a terminal's `files` channel.
DEFAULT_FILE_MAX_BYTES = 100 * 1024 * 1024
MAX_FILE_MAX_BYTES = 16 * 1024**3

# Ids appear in grants, logs and URLs of the page: keep them plain.
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
REDIS_URL_RE = re.compile(r"^(redis|rediss|unix)://\S+$")
# A host name or IP of [server] allowed_hosts (IPv6 with or without brackets).
HOST_RE = re.compile(r"^[A-Za-z0-9.-]+$|^\[?[0-9A-Fa-f:.]+\]?$")
ICE_URL_RE = re.compile(r"^(stun|stuns|turn|turns):\S+$")
# The audience of login tokens; no device may carry it as its id.
RESERVED_IDS = ("porthole-client",)


@dataclass(frozen=True)
class IceServer:
    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"urls": list(self.urls)}
        if self.username is not None:
            out["username"] = self.username
        if self.credential is not None:
            out["credential"] = self.credential
        return out


@dataclass(frozen=True)
class ServerSettings:
    host: str
    port: int
    origins: tuple[str, ...]
    signing_key: Path
    token_ttl_s: int
    grant_ttl_s: int
    max_sessions_per_user: int
    login_max_failures: int
    login_window_s: int
    ice_servers: tuple[IceServer, ...]
    # Failed logins (and device connects) per address, and per user, within login_window_s (limiter.py).
    login_max_failures_per_address: int = 20
    login_max_failures_per_user: int = 50
    # Reverse proxies whose X-Forwarded-For is believed (clientaddr.py); none by default.
    trusted_proxies: tuple[Any, ...] = ()
    # [server.turn]: TURN with credentials minted per session (turnconfig.py); None = no TURN.
    turn: TurnSettings | None = None
    # How long a session outlives the loss of its client's or its device's socket, waiting to be
    # re-announced (session:rebind, agent:sessions); 0: a lost socket ends its sessions at once.
    signaling_grace_s: int = 60
    # Lifetime of a resume token (session:resume_token; docs/protocol.md §4c).
    resume_token_ttl_s: int = 30
    # Bearer token for GET /metrics; None = loopback clients only (docs/ctl.md).
    metrics_token_file: Path | None = None
    # tls_cert + tls_key: HTTPS and WSS served by this process (tls.py); None = plain HTTP.
    tls: TlsFiles | None = None
    # Several nodes on one Redis (redisstore.py); "" = one node, state in this process.
    redis_url: str = field(default="", repr=False)  # may hold a password
    # Host names HTTP requests may name (hostcheck.py); () = origins' hosts, the listen host,
    # localhost and IP literals; "*" = any.
    allowed_hosts: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserGrant:
    devices: tuple[str, ...]
    targets: tuple[str, ...]
    kinds: tuple[str, ...]
    mode: str
    # File transfer on a terminal (grant.FILE_DIRECTIONS) and the largest file, bytes.
    files: str = "neither"
    file_max_bytes: int = 0
    # The folders it may use on the target (filedirs.py; "~" = the exec user's home).
    file_dirs: tuple[str, ...] = filedirs.DEFAULT


@dataclass(frozen=True)
class User:
    name: str
    org: str
    password_hash: str = field(repr=False)
    grants: tuple[UserGrant, ...]


@dataclass(frozen=True)
class Device:
    id: str
    name: str
    org: str
    secret_hash: str = field(repr=False)
    # "all" or "relay"; "" = the org's (server/ice.py).
    ice_transport_policy: str = ""


@dataclass(frozen=True)
class Config:
    server: ServerSettings
    orgs: tuple[str, ...]
    users: dict[str, User]
    devices: dict[str, Device]
    path: Path | None = None
    # org → "all" or "relay" ([[orgs]] ice_transport_policy); orgs not listed: "all".
    org_ice_transport_policy: dict[str, str] = field(default_factory=dict)
    audit: audit.AuditConfig = field(default_factory=audit.AuditConfig)
    policy: ServerPolicy = field(default_factory=ServerPolicy)  # [policy]
    recordings: RecordingsConfig | None = None  # [recordings]


def parse_listen(value: object, key: str = "server.listen") -> tuple[str, int]:
    """'HOST:PORT' or '[v6]:PORT' → (host, port). Port 0 picks a free port."""
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected 'HOST:PORT', got {type(value).__name__}")
    host, sep, port_s = value.rpartition(":")
    if not sep or not host or not port_s.isdigit() or int(port_s) > 65535:
        raise ConfigError(f"{key}: expected 'HOST:PORT', got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_s)


class _Table:
    """A TOML table being read: typed getters, and unknown keys are errors."""

    def __init__(self, data: object, key: str) -> None:
        if not isinstance(data, dict):
            raise ConfigError(f"{key}: expected a table")
        self.data = data
        self.key = key
        self.seen: set[str] = set()

    def name(self, k: str) -> str:
        return f"{self.key}.{k}" if self.key else k

    def get(self, k: str, typ: type | tuple[type, ...], default: Any = ..., *, what: str = "") -> Any:
        self.seen.add(k)
        if k not in self.data:
            if default is ...:
                raise ConfigError(f"{self.name(k)}: missing")
            return default
        v = self.data[k]
        if isinstance(v, bool) and typ is int:
            raise ConfigError(f"{self.name(k)}: expected {what or typ}, got a boolean")
        if not isinstance(v, typ):
            raise ConfigError(
                f"{self.name(k)}: expected {what or getattr(typ, '__name__', typ)}, got {type(v).__name__}"
            )
        return v

    def int_in(self, k: str, default: int, lo: int, hi: int) -> int:
        v = self.get(k, int, default, what="an integer")
        if not lo <= v <= hi:
            raise ConfigError(f"{self.name(k)}: must be between {lo} and {hi}, got {v}")
        return v

    def str_list(self, k: str, default: Any = ..., *, nonempty: bool = False) -> tuple[str, ...]:
        v = self.get(k, list, default, what="a list of strings")
        if not all(isinstance(x, str) and x for x in v):
            raise ConfigError(f"{self.name(k)}: expected a list of non-empty strings")
        if nonempty and not v:
            raise ConfigError(f"{self.name(k)}: must not be empty")
        return tuple(v)

    def ident(self, k: str) -> str:
        v = self.get(k, str, what="a string")
        if not ID_RE.match(v):
            raise ConfigError(f"{self.name(k)}: {v!r} is not a valid id (letters, digits, _ . -; at most 64)")
        return v

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(f"{self.name(unknown[0])}: unknown key")


def _tables(data: dict, k: str) -> list[object]:
    v = data.get(k, [])
    if not isinstance(v, list):
        raise ConfigError(f"{k}: expected an array of tables ([[{k}]])")
    return v


def _hash(t: _Table, k: str) -> str:
    v = t.get(k, str, what="a string")
    if not passwords.is_valid_hash(v):
        raise ConfigError(f"{t.name(k)}: not a scrypt hash (make one with `porthole server hash-password`)")
    return v


def _device_hash(t: _Table, k: str) -> str:
    v = t.get(k, str, what="a string")
    if not (passwords.is_device_hash(v) or passwords.is_valid_hash(v)):
        raise ConfigError(f"{t.name(k)}: not a device secret hash (make one with `porthole server hash-device-secret`)")
    return v


def _ice_server(data: object, key: str) -> IceServer:
    t = _Table(data, key)
    urls = t.get("urls", (str, list), what="a string or a list of strings")
    urls = (urls,) if isinstance(urls, str) else tuple(urls)
    if not urls or not all(isinstance(u, str) and ICE_URL_RE.match(u) for u in urls):
        raise ConfigError(f"{t.name('urls')}: expected stun:, stuns:, turn: or turns: URLs")
    ice = IceServer(urls, t.get("username", str, None), t.get("credential", str, None))
    if any(u.startswith(("turn:", "turns:")) for u in urls):
        # A fixed TURN credential would reach every user and never expire.
        raise ConfigError(
            f"{t.name('urls')}: TURN goes in [server.turn], which mints a credential per "
            "session; [[server.ice_servers]] is for STUN only"
        )
    t.done()
    return ice


def _server(data: object, base_dir: Path) -> ServerSettings:
    t = _Table(data, "server")
    host, port = parse_listen(t.get("listen", str, DEFAULT_LISTEN))
    origins = t.str_list("origins", [])
    for i, o in enumerate(origins):
        if not ORIGIN_RE.match(o):
            raise ConfigError(f"server.origins[{i}]: {o!r} is not an origin like 'https://host[:port]'")
    allowed_hosts = t.str_list("allowed_hosts", [])
    for i, h in enumerate(allowed_hosts):
        if h != "*" and not HOST_RE.match(h):
            raise ConfigError(f"server.allowed_hosts[{i}]: {h!r} is not a host name or IP (no scheme, port or path)")
    key = Path(t.get("signing_key", str, what="a path"))
    key = key if key.is_absolute() else base_dir / key
    try:
        grant.load_private_key(key)
    except OSError as e:
        raise ConfigError(f"server.signing_key: cannot read {key}: {e.strerror}") from e
    except ValueError as e:
        raise ConfigError(f"server.signing_key: {key} is not a PEM private key") from e
    ice = tuple(_ice_server(x, f"server.ice_servers[{i}]") for i, x in enumerate(_tables(t.data, "ice_servers")))
    t.seen.add("ice_servers")
    turn_settings = parse_turn(t.data.get("turn"), base_dir)
    t.seen.add("turn")
    settings = ServerSettings(
        host=host,
        port=port,
        origins=origins,
        signing_key=key,
        token_ttl_s=t.int_in("token_ttl_s", DEFAULT_TOKEN_TTL_S, 30, 86400),
        grant_ttl_s=t.int_in("grant_ttl_s", DEFAULT_GRANT_TTL_S, 5, 600),
        max_sessions_per_user=t.int_in("max_sessions_per_user", DEFAULT_MAX_SESSIONS_PER_USER, 1, 10000),
        login_max_failures=t.int_in("login_max_failures", DEFAULT_LOGIN_MAX_FAILURES, 1, 1000),
        login_window_s=t.int_in("login_window_s", DEFAULT_LOGIN_WINDOW_S, 1, 86400),
        login_max_failures_per_address=t.int_in("login_max_failures_per_address", 20, 1, 100000),
        login_max_failures_per_user=t.int_in("login_max_failures_per_user", 50, 1, 100000),
        trusted_proxies=_networks(t, "trusted_proxies"),
        ice_servers=ice,
        turn=turn_settings,
        metrics_token_file=_path(t, "metrics_token_file", base_dir),
        tls=_tls(t, base_dir),
        redis_url=_redis_url(t, "redis_url"),
        signaling_grace_s=t.int_in("signaling_grace_s", DEFAULT_SIGNALING_GRACE_S, 0, 3600),
        resume_token_ttl_s=t.int_in("resume_token_ttl_s", 30, 1, 600),
        allowed_hosts=tuple(allowed_hosts),
    )
    t.done()
    return settings


def _redis_url(t: _Table, k: str) -> str:
    v = t.get(k, str, "", what="a string")
    if v and not REDIS_URL_RE.match(v):
        raise ConfigError(f"{t.name(k)}: expected redis://HOST[:PORT][/DB], rediss://... (TLS) or unix:///PATH")
    return v


def _tls(t: _Table, base_dir: Path) -> TlsFiles | None:
    cert, key = _path(t, "tls_cert", base_dir), _path(t, "tls_key", base_dir)
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        missing = "server.tls_cert" if cert is None else "server.tls_key"
        raise ConfigError(f"{missing}: missing (HTTPS needs both server.tls_cert and server.tls_key)")
    files = TlsFiles(cert, key)
    tls.context(files)  # every problem with the files stops the start here
    return files


def _networks(t: _Table, k: str) -> tuple[Any, ...]:
    try:
        return clientaddr.parse_networks(t.str_list(k, []))
    except ValueError as e:
        raise ConfigError(f"{t.name(k)}: {e}") from None


def _path(t: _Table, k: str, base_dir: Path) -> Path | None:
    v = t.get(k, str, "", what="a path")
    if not v:
        return None
    p = Path(v)
    return p if p.is_absolute() else base_dir / p


def _user_grant(data: object, key: str) -> UserGrant:
    t = _Table(data, key)
    kinds = t.str_list("kinds", ["terminal"], nonempty=True)
    for k in kinds:
        if k not in grant.KINDS:
            raise ConfigError(f"{t.name('kinds')}: unknown kind {k!r} (one of {', '.join(grant.KINDS)})")
    mode = t.get("mode", str, "interactive")
    if mode not in grant.MODES:
        raise ConfigError(f"{t.name('mode')}: {mode!r} is not one of {', '.join(grant.MODES)}")
    files = t.get("files", str, "neither")
    if files not in grant.FILE_DIRECTIONS:
        raise ConfigError(f"{t.name('files')}: {files!r} is not one of {', '.join(grant.FILE_DIRECTIONS)}")
    fmax = t.get("file_max_bytes", int, DEFAULT_FILE_MAX_BYTES)
    if not 0 < fmax <= MAX_FILE_MAX_BYTES:
        raise ConfigError(f"{t.name('file_max_bytes')}: 1..{MAX_FILE_MAX_BYTES}")
    g = UserGrant(
        t.str_list("devices", nonempty=True),
        t.str_list("targets", ["*"], nonempty=True),
        kinds,
        mode,
        files,
        fmax,
        _file_dirs(t),
    )
    t.done()
    return g


def _file_dirs(t: _Table) -> tuple[str, ...]:
    v = t.get("file_dirs", list, list(filedirs.DEFAULT), what="a list of folders")
    if not v:
        raise ConfigError(f'{t.name("file_dirs")}: must not be empty (files = "neither" turns file transfer off)')
    for i, d in enumerate(v):
        if why := filedirs.problem(d):
            raise ConfigError(f"{t.name('file_dirs')}[{i}]: {d!r} {why}")
    dirs = filedirs.union([tuple(filedirs.normalize(d) for d in v)])
    if why := filedirs.list_problem(dirs):
        raise ConfigError(f"{t.name('file_dirs')}: {why}")
    return dirs


def _user_file_dirs(grants: tuple[UserGrant, ...], key: str) -> None:
    """The folders of a session are the union of its matching grants': that union must fit a grant."""
    dirs = filedirs.union([g.file_dirs for g in grants if g.files != "neither"])
    if dirs and (why := filedirs.list_problem(dirs)):
        raise ConfigError(f"{key}: the file_dirs of this user's grants together: {why}")


def _ice_policy(t: _Table, default: str) -> str:
    v = t.get("ice_transport_policy", str, default)
    if v not in ("all", "relay") and not (v == "" and default == ""):
        raise ConfigError(
            f"{t.name('ice_transport_policy')}: 'all' (peer to peer when possible) or 'relay' (TURN only)"
        )
    return v


def parse(data: dict, base_dir: Path, path: Path | None = None) -> Config:
    """Builds a Config from parsed TOML; relative paths are relative to base_dir."""
    unknown = sorted(set(data) - {"server", "orgs", "users", "devices", "audit", "policy", "recordings"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key")
    server = _server(data.get("server", {}), base_dir)
    orgs: list[str] = []
    policies: dict[str, str] = {}
    for i, raw in enumerate(_tables(data, "orgs")):
        t = _Table(raw, f"orgs[{i}]")
        org = t.ident("id")
        policies[org] = _ice_policy(t, "all")
        t.done()
        if org in orgs:
            raise ConfigError(f"orgs[{i}].id: duplicate org {org!r}")
        orgs.append(org)
    users: dict[str, User] = {}
    for i, raw in enumerate(_tables(data, "users")):
        t = _Table(raw, f"users[{i}]")
        name = t.get("name", str, what="a string")
        if not 0 < len(name) <= 128 or not name.isprintable():
            raise ConfigError(f"users[{i}].name: must be 1..128 printable characters")
        if name in users:
            raise ConfigError(f"users[{i}].name: duplicate user {name!r}")
        org = t.ident("org")
        if org not in orgs:
            raise ConfigError(f"users[{i}].org: unknown org {org!r} (add it under [[orgs]])")
        grants = tuple(_user_grant(g, f"users[{i}].grants[{j}]") for j, g in enumerate(_tables(t.data, "grants")))
        t.seen.add("grants")
        _user_file_dirs(grants, f"users[{i}].grants")
        users[name] = User(name, org, _hash(t, "password_hash"), grants)
        t.done()
    devices: dict[str, Device] = {}
    for i, raw in enumerate(_tables(data, "devices")):
        t = _Table(raw, f"devices[{i}]")
        dev_id = t.ident("id")
        if dev_id in devices:
            raise ConfigError(f"devices[{i}].id: duplicate device {dev_id!r}")
        if dev_id in RESERVED_IDS:
            raise ConfigError(f"devices[{i}].id: {dev_id!r} is reserved")
        org = t.ident("org")
        if org not in orgs:
            raise ConfigError(f"devices[{i}].org: unknown org {org!r} (add it under [[orgs]])")
        name = t.get("name", str, dev_id)
        devices[dev_id] = Device(dev_id, name[:128], org, _device_hash(t, "secret_hash"), _ice_policy(t, ""))
        t.done()
    relay = sorted(
        {
            *(o for o, v in policies.items() if v == "relay"),
            *(d.id for d in devices.values() if d.ice_transport_policy == "relay"),
        }
    )
    if relay and server.turn is None:
        raise ConfigError(
            f"ice_transport_policy = 'relay' for {relay[0]!r} needs [server.turn]: "
            "with no relay, such sessions could never connect"
        )
    return Config(
        server=server,
        orgs=tuple(orgs),
        users=users,
        devices=devices,
        path=path,
        org_ice_transport_policy=policies,
        audit=audit.parse_config(data.get("audit"), base_dir),
        policy=parse_policy(data.get("policy")),
        recordings=parse_recordings(data.get("recordings"), base_dir),
    )


def load(path: Path) -> Config:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8") from e
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from e
    return parse(data, path.parent.resolve(), path)
