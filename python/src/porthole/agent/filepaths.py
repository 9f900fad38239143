"""Which paths the `files` channel may touch (docs/protocol.md §5d).

A transfer names a folder (upload; empty = the shell's working directory, else
the home directory) or a file (download). The store resolves it on the target
(every symlink followed, in the container or on the host) and this module
decides: the resolved path must be the exec user's home or /tmp, or inside
one of them; a file name is one path component. Anything else is
`path_not_allowed`.
"""

from __future__ import annotations

import posixpath

from porthole import wire
from porthole.errors import PortholeError

# The folders a transfer may touch, before symlinks are resolved on the target ("~": the
# exec user's home directory).
ROOTS = ("~", "/tmp")
MAX_PATH = 4096
MAX_NAME = 255


def check_name(name: object) -> str:
    """A file name: one component, no NUL, not `.` or `..`, at most 255 bytes."""
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise PortholeError(wire.PATH_NOT_ALLOWED, "the file name must be one path component")
    if "/" in name or "\0" in name or len(name.encode()) > MAX_NAME:
        raise PortholeError(wire.PATH_NOT_ALLOWED, "the file name must be one path component")
    return name


def check_path(path: object, *, what: str = "path") -> str:
    if not isinstance(path, str) or "\0" in path or len(path.encode()) > MAX_PATH:
        raise PortholeError(wire.PATH_NOT_ALLOWED, f"the {what} is not a path")
    return path


def absolute(path: str, home: str) -> str:
    """A path as the client gave it, made absolute: relative to the home directory, `~` expanded."""
    if path == "~" or path.startswith("~/"):
        path = home + path[1:]
    return posixpath.normpath(posixpath.join(home, path))


def inside(resolved: str, roots: tuple[str, ...]) -> bool:
    """True when resolved (a physical path) is one of roots or below one."""
    for r in roots:
        if not r:
            continue
        if resolved == r or resolved.startswith(r.rstrip("/") + "/"):
            return True
    return False


def require_inside(resolved: str, roots: tuple[str, ...]) -> None:
    if not inside(resolved, roots):
        raise PortholeError(wire.PATH_NOT_ALLOWED, "that path is outside the folders file transfer may use")
