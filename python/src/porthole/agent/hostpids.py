"""The agent must see the pids Docker reports (issue 14, 4).

`docker exec` gives the shell's pid in the Docker daemon's PID namespace; the
agent kills what a session leaves running by those pids (killtree.py). In
another PID namespace (a container without `--pid=host`) it would see none of
them, or, worse, other processes under the same numbers. So at start the agent
asks the kernel who serves the Docker socket (`SO_PEERCRED`, which reports
pid 0 for a process outside our namespace) and refuses to start unless that
process is in our PID namespace. `[targets] require_host_pids = false` turns
the refusal into an error in the log (docs/security.md says what is lost).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct

from porthole.errors import PortholeError

log = logging.getLogger("porthole.agent.hostpids")

# Start-up code (not on the wire).
HOST_PIDS_REQUIRED = "host_pids_required"
_UCRED = struct.Struct("3i")
HINT = (
    "run the agent in the host PID namespace (a host service, or `docker run --pid=host`); "
    "[targets] require_host_pids = false starts it anyway, unable to kill what sessions leave running"
)


def docker_peer_pid(docker_socket: str) -> int | None:
    """The pid (in our namespace; 0 = outside it) of the process serving the Docker socket; None if none does."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        try:
            s.connect(docker_socket)
        except OSError:
            return None
        pid, _, _ = _UCRED.unpack(s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
        return pid


def check(docker_socket: str) -> None:
    """Raises HOST_PIDS_REQUIRED when the Docker daemon is in another PID namespace than ours."""
    pid = docker_peer_pid(docker_socket)
    if pid is None:
        log.warning("Docker is not reachable at %s: the host PID namespace check is left until it is", docker_socket)
        return
    if pid == 0:
        raise PortholeError(
            HOST_PIDS_REQUIRED,
            f"the Docker daemon behind {docker_socket} is outside this PID namespace: the agent could not "
            f"see or kill the processes of its sessions; {HINT}",
        )
    try:
        same = os.readlink(f"/proc/{pid}/ns/pid") == os.readlink("/proc/self/ns/pid")
    except OSError:
        # Not allowed to look (a non-root agent, the daemon root's): its pid is visible, so it
        # is in our namespace or one below ours; the second is a nested Docker we cannot tell apart.
        log.warning("cannot read the Docker daemon's PID namespace (pid %s); assuming it is ours", pid)
        return
    if not same:
        raise PortholeError(
            HOST_PIDS_REQUIRED,
            f"the Docker daemon (pid {pid}) is in another PID namespace than the agent: its pids are not ours; {HINT}",
        )


async def check_config(targets) -> None:
    """The start-up check for `[targets]` (a TargetsConfig): only with Docker; an error in the
    log instead of a refusal when require_host_pids is false."""
    if not targets.docker:
        return
    try:
        await asyncio.to_thread(check, targets.docker_socket)
    except PortholeError as e:
        if targets.require_host_pids:
            raise
        log.error("%s (starting anyway: [targets] require_host_pids = false)", e)
