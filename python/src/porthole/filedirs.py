"""The folders file transfer may use (docs/configuration.md `file_dirs`, docs/protocol.md §5d).

A list of folders set per `[[users.grants]]`, signed into the session's grant
(claim `fdirs`) and enforced by the agent on the target. An entry is an
absolute path or `~` / `~/...` (the exec user's home on the target); no `.` or
`..` component, no control character. The server checks entries at config load
and the agent checks them again in every grant; both call problem().
"""

from __future__ import annotations

import json

# The folders allowed when a grant names none: the exec user's home and /tmp.
DEFAULT = ("~", "/tmp")
MAX_DIRS = 16
# The list as JSON in the grant (the grant is at most grant.MAX_GRANT_LEN bytes).
MAX_JSON = 1024


def problem(entry: object) -> str | None:
    """Why entry is not a folder file transfer may name; None when it is one."""
    if not isinstance(entry, str) or not entry:
        return "empty: a folder is an absolute path or starts with ~"
    if not entry.isprintable():
        return "has a control character"
    if not (entry.startswith("/") or entry == "~" or entry.startswith("~/")):
        return "is relative: a folder is an absolute path or ~ (the exec user's home) or ~/..."
    if any(part in (".", "..") for part in entry.split("/")):
        return "has a . or .. component"
    return None


def normalize(entry: str) -> str:
    """A valid entry with repeated and trailing slashes removed ("/" stays "/")."""
    head, rest = ("~", entry[1:]) if entry.startswith("~") else ("", entry)
    parts = [p for p in rest.split("/") if p]
    if not parts:
        return head or "/"
    return head + "/" + "/".join(parts)


def list_problem(dirs: object) -> str | None:
    """Why dirs is not a list of folders for a grant; None when it is one."""
    if not isinstance(dirs, (list, tuple)) or not dirs:
        return "must be a non-empty list of folders"
    if len(dirs) > MAX_DIRS:
        return f"at most {MAX_DIRS} folders"
    for i, d in enumerate(dirs):
        why = problem(d)
        if why:
            return f"[{i}] {d!r} {why}"
    if len(json.dumps(list(dirs))) > MAX_JSON:
        return f"the folders take at most {MAX_JSON} bytes (as JSON)"
    return None


def union(lists: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The folders of several grants, each once, in order."""
    out: list[str] = []
    for dirs in lists:
        out.extend(d for d in dirs if d not in out)
    return tuple(out)
