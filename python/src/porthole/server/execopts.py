"""The exec choices a client may send with `session:open` (docs/protocol.md §2):
`shell` (a shell *name* the device offers), `user`, and `env` (variables).

The server only checks their shape and passes them on in the offer; the agent
decides (its policy lists the shells, users and variable names it allows, and
refuses anything else with shell_denied, user_denied, root_denied or
env_denied). A client never sends a command.
"""

from __future__ import annotations

import re
from typing import Any

from porthole import errors
from porthole.errors import PortholeError

SHELL_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_ENV_VARS = 16
MAX_ENV_VALUE = 256


def parse(data: object) -> dict[str, Any]:
    """The optional exec fields of a session:open payload, validated; {} when none."""
    d = data if isinstance(data, dict) else {}
    out: dict[str, Any] = {}
    shell = d.get("shell")
    if shell is not None:
        if not isinstance(shell, str) or not SHELL_RE.match(shell):
            raise PortholeError(errors.BAD_REQUEST, "shell must be a shell name (1-32 of a-z 0-9 _ . -)")
        out["shell"] = shell
    user = d.get("user")
    if user is not None:
        if not isinstance(user, str) or not USER_RE.match(user):
            raise PortholeError(errors.BAD_REQUEST, "user must be a user name or uid, optionally :group")
        out["user"] = user
    env = d.get("env")
    if env is not None:
        if not isinstance(env, dict) or len(env) > MAX_ENV_VARS:
            raise PortholeError(errors.BAD_REQUEST, f"env must be an object of at most {MAX_ENV_VARS} variables")
        for k, v in env.items():
            if not ENV_NAME_RE.match(k) or not isinstance(v, str) or len(v) > MAX_ENV_VALUE or not v.isprintable():
                raise PortholeError(errors.BAD_REQUEST, "env: names like LANG, printable string values ≤ 256")
        out["env"] = dict(env)
    return out
