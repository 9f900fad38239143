"""Shells that outlived the agent: found by their mark and killed at its next start.

Docker never kills an exec's processes; the agent does when a session ends.
An agent that was SIGKILLed (or crashed) ends nothing, so every shell it had
started would run on forever. Each shell the agent starts therefore carries
``PORTHOLE_SESSION=<device id>/<session id>`` in its environment (inherited by
everything it starts). At start, before it takes any offer, the agent scans
``/proc`` for processes with its own device's mark, kills each such session
with killtree (pidfds checked against start times: no stray kill after a pid
was reused) and audits it as ended with reason ``agent_restarted``.

A process that changed its own environment is not found this way; it is also
not a shell the agent's user can reach any more. Processes marked with another
device id (a second agent on the same host) are left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from porthole.agent import killtree

log = logging.getLogger("porthole.agent.reconcile")

MARK_VAR = "PORTHOLE_SESSION"
PROC = Path("/proc")
# An environment larger than this is not read whole (the mark is set by us, early in it).
MAX_ENVIRON_BYTES = 1 << 20


def mark(device_id: str, session_id: str) -> dict[str, str]:
    """The environment entry that marks a shell as this session's."""
    return {MARK_VAR: f"{device_id}/{session_id}"}


@dataclass(frozen=True)
class Leftover:
    session_id: str
    killed: int


def _marked(pid: int, prefix: bytes) -> str | None:
    try:
        with (PROC / str(pid) / "environ").open("rb") as f:
            env = f.read(MAX_ENVIRON_BYTES)
    except OSError:
        return None
    for entry in env.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix) :].decode("utf-8", "replace")
    return None


def find(device_id: str, known: set[str] | frozenset[str] = frozenset()) -> dict[str, dict[int, int]]:
    """``{session id: {pid: start}}`` of live marked processes of this device's unknown sessions."""
    prefix = f"{MARK_VAR}={device_id}/".encode()
    found: dict[str, dict[int, int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        sid = _marked(pid, prefix)
        if sid is None or sid in known:
            continue
        start = killtree.start_time(pid)
        if start is not None:
            found.setdefault(sid, {})[pid] = start
    return found


def reconcile(device_id: str, known: set[str] | frozenset[str] = frozenset()) -> list[Leftover]:
    """Kills every leftover session of this device; one Leftover per session, with its kill count."""
    out = []
    for sid, procs in find(device_id, known).items():
        # Each marked process's whole session (the shell leads one); one already killed with an
        # earlier one is gone by then and counts nothing.
        killed = sum(killtree.kill_session(pid, start) for pid, start in sorted(procs.items(), key=lambda p: p[1]))
        out.append(Leftover(sid, killed))
        log.warning("killed %d process(es) of session %s left by a previous agent run", killed, sid)
    return out
