"""Kills every process of a terminal session: Docker never does.

`docker exec` starts the shell as the leader of a new session (setsid) in the
container. When the operator goes away, the shell and whatever it started keep
running unless someone kills them. We kill, from the host PID namespace, every
process whose session id is the shell's pid, every process in its process
group, and every descendant of the shell (children that called setsid
themselves), repeating until none is left so that a process forking while we
kill (a fork bomb) is caught on the next pass.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

PROC = Path("/proc")
# A fork bomb can add processes between two scans; a handful of passes with the
# whole session frozen by SIGKILL catches them (every child inherits the session).
MAX_PASSES = 20


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, pgrp, session) of a process, or None when it is gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = raw[raw.rfind(")") + 2 :].split()
    try:
        return int(rest[1]), int(rest[2]), int(rest[3])
    except (IndexError, ValueError):
        return None


def session_members(root: int) -> set[int]:
    """Pids in root's session or process group, and all descendants of root."""
    table: dict[int, tuple[int, int, int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            st = _stat(int(entry.name))
            if st:
                table[int(entry.name)] = st
    members = {pid for pid, (_, pgrp, sid) in table.items() if sid == root or pgrp == root}
    if root in table:
        members.add(root)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    stack = [root, *members]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in members:
                members.add(child)
                stack.append(child)
    members.discard(os.getpid())
    return members


def visible(pid: int) -> bool:
    return (PROC / str(pid)).exists()


def kill_session(root: int) -> int:
    """SIGKILLs root's session; returns how many processes were signalled."""
    if root <= 1:
        raise ValueError(f"refusing to kill pid {root}")
    killed = 0
    for _ in range(MAX_PASSES):
        pids = session_members(root)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except (ProcessLookupError, PermissionError):
                pass
    return killed
