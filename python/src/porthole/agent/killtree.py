"""Kills every process of a terminal session: Docker never does.

`docker exec` starts the shell as the leader of a new session (setsid) in the
container. When the operator goes away, the shell and whatever it started keep
running unless someone kills them. We kill, from the host PID namespace, every
process whose session id is the shell's pid, every process in its process
group, and every descendant of the shell (children that called setsid
themselves), repeating until none is left so that a process forking while we
kill (a fork bomb) is caught on the next pass.

Pids are reused, and a kill may run seconds after the shell ended. A process
is therefore known by its pid *and* its start time (``/proc/PID/stat`` field
22), recorded when the shell's pid is learnt:
- if the shell's pid now belongs to a process with another start time, the old
  session is gone entirely (the kernel does not reuse a pid while any process
  still has it as session or group id), so nothing is killed;
- each signal goes through a pidfd opened and then checked against the start
  time seen in the scan, so a process that exits between the scan and the kill
  and whose pid is reused at once is never hit.
"""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass

# A string, not a pathlib.Path: a session's end scans every process of the host, and
# pathlib interns each part of a path it parses (every pid). Each goes again when its
# Path does, but the churn of new pids makes the interpreter's table of interned
# strings (a dict, which never shrinks) resize: one 1.9 MiB step over the soak's first
# ~200 sessions (docs/reliability.md).
PROC = "/proc"
# A fork bomb can add processes between two scans; a handful of passes with the
# whole session frozen by SIGKILL catches them (every child inherits the session).
MAX_PASSES = 20


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    pgrp: int
    session: int
    start: int  # clock ticks after boot: with the pid, a process's identity
    zombie: bool


def _stat(pid: int) -> ProcStat | None:
    """A process's /proc/PID/stat, or None when it is gone."""
    try:
        with open(f"{PROC}/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parentheses: split after the last ')'.
    rest = raw[raw.rfind(")") + 2 :].split()
    try:
        return ProcStat(pid, int(rest[1]), int(rest[2]), int(rest[3]), int(rest[19]), rest[0] in ("Z", "X"))
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """The start time of a live process (to tell it from a later one with the same pid)."""
    st = _stat(pid)
    return st.start if st is not None and not st.zombie else None


def session_members(root: int, root_start: int | None = None) -> dict[int, int]:
    """``{pid: start}`` of the live processes in root's session or process group, and of
    root's descendants; empty when root's pid now belongs to another process."""
    table: dict[int, ProcStat] = {}
    for name in os.listdir(PROC):
        if name.isdigit():
            st = _stat(int(name))
            if st is not None:
                table[st.pid] = st
    here = table.get(root)
    if here is not None and root_start is not None and here.start != root_start:
        return {}  # reused: the session we knew has no process left
    members = {pid for pid, st in table.items() if st.session == root or st.pgrp == root}
    if here is not None:
        members.add(root)
    children: dict[int, list[int]] = {}
    for st in table.values():
        children.setdefault(st.ppid, []).append(st.pid)
    stack = list(members)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in members:
                members.add(child)
                stack.append(child)
    members.discard(os.getpid())
    return {pid: table[pid].start for pid in members if not table[pid].zombie}


def _signal(pid: int, start: int, sig: int) -> bool:
    """Sends sig to (pid, start) only; False when that process is gone."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError:  # no pidfd on this kernel: check, then kill (a narrower race than none)
        if start_time(pid) != start:
            return False
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
            return True
        return False
    try:
        if start_time(pid) != start:  # the pidfd names whatever has this pid now
            return False
        signal.pidfd_send_signal(fd, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False
    finally:
        os.close(fd)


def visible(pid: int) -> bool:
    return os.path.exists(f"{PROC}/{pid}")


def kill_session(root: int, root_start: int | None = None) -> int:
    """SIGKILLs root's session; returns how many distinct processes it had (the audit's `killed`).

    A member counts when our signal reached it or it is gone by the time we get to it:
    killing the shell hangs its terminal up, and the kernel's SIGHUP may end the
    foreground job between the scan and its own signal (it was still the session's)."""
    if root <= 1:
        raise ValueError(f"refusing to kill pid {root}")
    killed: set[tuple[int, int]] = set()
    for _ in range(MAX_PASSES):
        members = session_members(root, root_start)
        if not members:
            break
        for pid, start in members.items():
            if _signal(pid, start, signal.SIGKILL) or start_time(pid) != start:
                killed.add((pid, start))
    return len(killed)
