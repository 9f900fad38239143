"""The agent's session policy: what an exec may be and how long a session may live.

`[policy]` in the agent config (docs/configuration.md, docs/security.md):
- exec limits: the user (non-root unless `allow_root`), the command (always
  from this file: `targets.shell`, or one of the named `shells` a client may
  pick), the environment (a fixed `env` plus the client's variables whose
  names are in `env_allow`), never a privileged exec;
- which containers: `targets.containers` name globs and, when set, `labels`
  (a container must carry one of them); never the agent's own container;
- timeouts: `idle_timeout_s`, `max_session_s`, `end_on_grant_expiry`.

Every refusal is a PortholeError with its own code, raised before anything is
created in Docker.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from porthole import wire
from porthole.errors import ConfigError, PortholeError

# Error codes of this module (docs/protocol.md §6), written once in wire.py.
ROOT_DENIED = wire.ROOT_DENIED
USER_DENIED = wire.USER_DENIED
SHELL_DENIED = wire.SHELL_DENIED
ENV_DENIED = wire.ENV_DENIED
TARGET_DENIED = wire.TARGET_DENIED
AUDIT_UNAVAILABLE = wire.AUDIT_UNAVAILABLE
# Close reasons (webrtc:disconnect reason, terminal error code, audit reason).
IDLE_TIMEOUT = wire.IDLE_TIMEOUT
MAX_DURATION = wire.MAX_DURATION
GRANT_EXPIRED = wire.GRANT_EXPIRED

# Not root in any image: a numeric uid/gid needs no /etc/passwd entry and
# owns nothing (the conventional `nobody`).
DEFAULT_USER = "65534:65534"
# Long enough for someone reading a log or a man page, short enough that a
# forgotten tab does not keep a shell open all day.
DEFAULT_IDLE_TIMEOUT_S = 900
# A working shift.
DEFAULT_MAX_SESSION_S = 8 * 3600
DEFAULT_ENV_ALLOW = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "COLORTERM")
# Client environment: a handful of short variables.
MAX_ENV_VARS = 16
MAX_ENV_VALUE = 256
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
SHELL_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$")


@dataclass(frozen=True)
class Policy:
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S  # 0: off
    max_session_s: float = DEFAULT_MAX_SESSION_S  # 0: off
    end_on_grant_expiry: bool = False
    allow_root: bool = False
    users: tuple[str, ...] = ()  # users a client may ask for, besides targets.user
    shells: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name → argv a client may pick
    env: dict[str, str] = field(default_factory=dict)  # set in every exec
    env_allow: tuple[str, ...] = DEFAULT_ENV_ALLOW  # names a client may set
    labels: tuple[str, ...] = ()  # "key" or "key=value"; a container needs one (empty: no label needed)


def is_root(user: str) -> bool:
    """True for a user spec that is root by name or number ("", the image default, is decided elsewhere)."""
    name = user.split(":", 1)[0]
    return name in ("root", "0")


def _table(raw: dict, key: str, where: str) -> dict:
    v = raw.get(key, {})
    if not isinstance(v, dict):
        raise ConfigError(f"{where}.{key}: expected a table")
    return v


def parse(raw: object, *, exec_user: str) -> Policy:
    """`[policy]` → Policy; also checks targets.user (exec_user) against allow_root."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("policy: expected a table")
    known = {
        "idle_timeout_s",
        "max_session_s",
        "end_on_grant_expiry",
        "allow_root",
        "users",
        "shells",
        "env",
        "env_allow",
        "labels",
    }
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"policy.{unknown[0]}: unknown key")

    def num(k: str, default: float, hi: float) -> float:
        v = raw.get(k, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= hi:
            raise ConfigError(f"policy.{k}: a number of seconds 0..{int(hi)} (0 = off)")
        return float(v)

    def flag(k: str) -> bool:
        v = raw.get(k, False)
        if not isinstance(v, bool):
            raise ConfigError(f"policy.{k}: expected true or false")
        return v

    def strs(k: str, default: tuple[str, ...]) -> tuple[str, ...]:
        v = raw.get(k, list(default))
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise ConfigError(f"policy.{k}: expected a list of non-empty strings")
        return tuple(v)

    allow_root = flag("allow_root")
    users = strs("users", ())
    for u in (exec_user, *users):
        if u and not USER_RE.match(u):
            raise ConfigError(f"policy: bad user {u!r} (name or uid, optionally :group)")
        if u and is_root(u) and not allow_root:
            raise ConfigError(f"policy.allow_root: user {u!r} is root; set allow_root = true to permit it")
    shells: dict[str, tuple[str, ...]] = {}
    for name, argv in _table(raw, "shells", "policy").items():
        if not SHELL_NAME_RE.match(name):
            raise ConfigError(f"policy.shells.{name}: names are 1-32 of [a-z0-9_.-]")
        if not isinstance(argv, list) or not argv or not all(isinstance(x, str) and x for x in argv):
            raise ConfigError(f"policy.shells.{name}: expected a non-empty list of strings (argv)")
        shells[name] = tuple(argv)
    env = _table(raw, "env", "policy")
    for k, v in env.items():
        if not ENV_NAME_RE.match(k) or not isinstance(v, str):
            raise ConfigError(f"policy.env.{k}: names like LANG, string values")
    env_allow = strs("env_allow", DEFAULT_ENV_ALLOW)
    for name in env_allow:
        if not ENV_NAME_RE.match(name):
            raise ConfigError(f"policy.env_allow: {name!r} is not a variable name")
    return Policy(
        idle_timeout_s=num("idle_timeout_s", DEFAULT_IDLE_TIMEOUT_S, 7 * 86400),
        max_session_s=num("max_session_s", DEFAULT_MAX_SESSION_S, 30 * 86400),
        end_on_grant_expiry=flag("end_on_grant_expiry"),
        allow_root=allow_root,
        users=users,
        shells=shells,
        env=dict(env),
        env_allow=env_allow,
        labels=strs("labels", ()),
    )


def labels_match(policy: Policy, labels: dict[str, str] | None) -> bool:
    if not policy.labels:
        return True
    labels = labels or {}
    for want in policy.labels:
        key, eq, value = want.partition("=")
        if key in labels and (not eq or labels[key] == value):
            return True
    return False


def container_allowed(name_globs: tuple[str, ...], policy: Policy, name: str, labels: dict[str, str] | None) -> bool:
    return any(fnmatch.fnmatchcase(name, g) for g in name_globs) and labels_match(policy, labels)


@dataclass(frozen=True)
class ExecSpec:
    """What the agent runs: all of it from policy, the client only picked among allowed choices."""

    cmd: tuple[str, ...]
    user: str
    env: dict[str, str]
    shell_name: str  # "" for the default


def exec_spec(
    policy: Policy,
    *,
    default_cmd: tuple[str, ...],
    default_user: str,
    term: str,
    shell: object = None,
    user: object = None,
    env: object = None,
) -> ExecSpec:
    """Checks the client's optional choices (offer fields shell, user, env) against the policy."""
    cmd, shell_name = default_cmd, ""
    if shell is not None:
        if not isinstance(shell, str) or shell not in policy.shells:
            raise PortholeError(SHELL_DENIED, "that shell is not offered by this device")
        cmd, shell_name = policy.shells[shell], shell
    exec_user = default_user
    if user is not None:
        if not isinstance(user, str) or not USER_RE.match(user):
            raise PortholeError(USER_DENIED, "user must be a user name or uid")
        if is_root(user) and not policy.allow_root:
            raise PortholeError(ROOT_DENIED, "root is not allowed on this device")
        if user != default_user and user not in policy.users:
            raise PortholeError(USER_DENIED, "that user is not allowed on this device")
        exec_user = user
    out_env = {**policy.env, "TERM": term}
    if env is not None:
        if not isinstance(env, dict) or len(env) > MAX_ENV_VARS:
            raise PortholeError(ENV_DENIED, f"env must be an object of at most {MAX_ENV_VARS} variables")
        for k, v in env.items():
            if k not in policy.env_allow:
                raise PortholeError(ENV_DENIED, f"variable {k[:64]!r} is not allowed")
            if not isinstance(v, str) or len(v) > MAX_ENV_VALUE or not v.isprintable():
                raise PortholeError(ENV_DENIED, f"variable {k} must be printable text of at most {MAX_ENV_VALUE}")
            out_env[k] = v
    return ExecSpec(cmd=cmd, user=exec_user, env=out_env, shell_name=shell_name)


def proc_uid(pid: int) -> int | None:
    """The real uid of a host process (the agent runs in the host PID namespace)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Uid:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None
