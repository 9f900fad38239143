"""Which paths the `files` channel may touch (docs/protocol.md §5d).

A transfer names a folder (upload; empty = the shell's working directory, else
the home directory) or a file (download). The store resolves it on the target
(every symlink followed, in the container or on the host) and this module
decides: the path, before and after symlinks are resolved, must be one of the
folders the grant allows (claim `fdirs`, porthole/filedirs.py; by default the
exec user's home and /tmp) or inside one of them; a file name is one path
component. Anything else is `path_not_allowed`.
"""

from __future__ import annotations

import posixpath

from porthole import wire
from porthole.errors import PortholeError

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


def expand(folder: str, home: str) -> str:
    """A grant's folder with `~` made the exec user's home ("" when that home is unknown)."""
    if folder == "~" or folder.startswith("~/"):
        return (home.rstrip("/") + folder[1:] or "/") if home else ""
    return folder


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


def default_folder(cwd: str, home: str, dirs: tuple[str, ...], roots: tuple[str, ...]) -> str:
    """Where an upload that names no folder goes: the shell's working directory when it is
    allowed, else the home directory when it is, else the first allowed folder that exists."""
    if cwd and inside(cwd, roots):
        return cwd
    if home and inside(home, (*dirs, *roots)):
        return home
    if roots:
        return roots[0]
    raise PortholeError(wire.PATH_NOT_ALLOWED, "none of the folders file transfer may use exists on the target")


def require_inside(resolved: str, roots: tuple[str, ...]) -> None:
    if not inside(resolved, roots):
        raise PortholeError(wire.PATH_NOT_ALLOWED, "that path is outside the folders file transfer may use")
