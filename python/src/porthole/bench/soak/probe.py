"""What one soak sample reads: a process's RSS, threads and open descriptors
from /proc, and what still runs in the target container from Docker.

``threads`` is the Threads line of /proc/PID/status: for porthole-core OS
threads, which the Go runtime keeps once started (a high-water mark); its
goroutines come from its GetStats (``goroutines``), which is where a
goroutine leak shows.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import docker
import grpc

from porthole.rpc.v1 import admin_pb2, admin_pb2_grpc, sidecar_pb2, sidecar_pb2_grpc

# One unary call on a local unix socket; seconds only on a saturated machine.
RPC_TIMEOUT_S = 10.0
# `ss -xn` lists every unix socket of the machine: well under a second.
SS_TIMEOUT_S = 30.0


def process(pid: int) -> dict[str, Any]:
    """{"pid", "rss_kib", "rss_anon_kib", "rss_file_kib", "threads", "fds",
    "fd_kinds"} of a live process. RSS is split as the kernel counts it
    (RssAnon: heap, arenas, stacks; RssFile: pages of the binary and its
    libraries that were touched, which grow as new code paths run and are not
    a leak). fd_kinds counts descriptors by what they point at (socket, pipe,
    anon_inode:[eventpoll], a file path's kind: file, dev), to tell a pool
    that grew from a leak."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    kinds: Counter = Counter()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        try:
            kinds[_fd_kind(os.readlink(fd_dir / fd))] += 1
        except FileNotFoundError:
            continue  # closed meanwhile
    return {
        "pid": pid,
        "rss_kib": int(fields["VmRSS"].split()[0]),
        "rss_anon_kib": int(fields["RssAnon"].split()[0]),
        "rss_file_kib": int(fields["RssFile"].split()[0]),
        "threads": int(fields["Threads"]),
        "fds": sum(kinds.values()),
        "fd_kinds": dict(sorted(kinds.items())),
    }


def unix_peers(pid: int) -> Counter:
    """The pid's connected unix sockets counted by the path their peer is bound
    to ("" for unnamed ones: socketpairs, the peer's end of a connection
    the pid accepted), from `ss -xn` (sock_diag): the agent's idle connections
    to dockerd are told from its own descriptors this way."""
    inodes = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    out = subprocess.run(["ss", "-xn"], capture_output=True, text=True, timeout=SS_TIMEOUT_S, check=True).stdout
    path_of, peer_of = {}, {}
    for line in out.splitlines()[1:]:
        f = line.split()
        if len(f) >= 8:  # Netid State Recv-Q Send-Q Local Inode Peer PeerInode
            path_of[f[5]] = "" if f[4] == "*" else f[4]
            peer_of[f[5]] = f[7]
    return Counter(path_of.get(peer_of[i], "") for i in inodes if i in peer_of)


def _fd_kind(target: str) -> str:
    if target.startswith(("socket:", "pipe:")):
        return target.split(":", 1)[0]
    if target.startswith("anon_inode:"):
        return target
    return "dev" if target.startswith("/dev/") else "file"


def container(client: docker.APIClient, name: str) -> dict[str, Any]:
    """Processes in the container besides its own main process (every one is
    an exec's: a shell or what it started), and the execs Docker still runs."""
    info = client.inspect_container(name)
    main_pid = str(info["State"]["Pid"])
    top = client.top(name, ps_args="-o pid,args")
    titles = [t.upper() for t in top.get("Titles") or []]
    pid_col = titles.index("PID") if "PID" in titles else 0
    others = [" ".join(p[pid_col + 1 :]) or p[-1] for p in top.get("Processes") or [] if p[pid_col] != main_pid]
    running = 0
    for exec_id in info.get("ExecIDs") or []:
        try:
            running += bool(client.exec_inspect(exec_id).get("Running"))
        except docker.errors.NotFound:
            continue  # ended and forgotten between the two calls
    return {"exec_processes": len(others), "execs_running": running, "processes": others[:20]}


def _listen_path(pid: int) -> str | None:
    """The unix socket porthole-core serves gRPC on (its --listen argument)."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    for flag, value in itertools.pairwise(argv):
        if flag in (b"--listen", b"-listen"):
            return value.decode()
    return None


def core_stats(pid: int) -> sidecar_pb2.GetStatsResponse | None:
    """porthole-core's GetStats (sessions it holds, its goroutines), or None
    when it cannot be asked (no --listen socket on its command line)."""
    path = _listen_path(pid)
    if path is None:
        return None
    if not os.path.isabs(path):
        path = os.path.join(os.readlink(f"/proc/{pid}/cwd"), path)
    with grpc.insecure_channel(f"unix:{path}") as ch:
        return sidecar_pb2_grpc.SidecarStub(ch).GetStats(sidecar_pb2.GetStatsRequest(), timeout=RPC_TIMEOUT_S)


def core_sessions(pid: int) -> int | None:
    """Sessions porthole-core still holds, or None when it cannot be asked."""
    reply = core_stats(pid)
    return None if reply is None else len(reply.sessions)


def core_goroutines(pid: int) -> int | None:
    """porthole-core's live goroutines (runtime.NumGoroutine), or None when it cannot be asked."""
    reply = core_stats(pid)
    return None if reply is None else reply.goroutines


def agent_sessions(admin_socket: Path) -> int | None:
    """Sessions the agent still counts as live (its admin ListSessions), or None
    without an admin socket."""
    if not admin_socket.exists():
        return None
    with grpc.insecure_channel(f"unix:{admin_socket}") as ch:
        reply = admin_pb2_grpc.AdminStub(ch).ListSessions(admin_pb2.ListSessionsRequest(), timeout=RPC_TIMEOUT_S)
    return reply.total
