"""Where porthole-core's sockets live, and the checks that nobody else can take them.

Whoever answers on porthole-core's socket receives every offer and terminal
stream and drives `docker exec`, so the path must not be one another local
user can bind first (issue 14, 1):

- the default socket sits in a folder the agent creates 0700 and checks it
  owns with no group or other access ($XDG_RUNTIME_DIR/porthole, else
  /run/porthole for root, else /tmp/porthole-<uid>); a folder there that is
  not ours, or is open to others, is refused, never used;
- a configured `[sidecar] socket` must be in a folder owned by us or root that
  only its owner can write;
- once porthole-core answers, the agent asks the kernel who listens
  (`SO_PEERCRED`): it must be the porthole-core the agent started, as our uid.
"""

from __future__ import annotations

import os
import socket
import stat
import struct
from pathlib import Path

from porthole.errors import PortholeError

# Start-up codes (not on the wire): printed by `porthole agent` when it refuses to start.
UNSAFE_DIR = "sidecar_socket_unsafe"
NOT_OUR_CORE = "sidecar_not_ours"

_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def runtime_dir() -> Path:
    """The agent's private runtime folder (the admin API's default socket lives there too)."""
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "porthole"
    if os.geteuid() == 0:
        return Path("/run/porthole")
    return Path(f"/tmp/porthole-{os.geteuid()}")


def default_path(device_id: str) -> Path:
    return runtime_dir() / f"core-{device_id}-{os.getpid()}.sock"


def prepare(path: Path, private: bool) -> None:
    """Makes and checks the socket's folder; raises UNSAFE_DIR when another user could bind there.

    private: the folder is the agent's own (the default): created 0700, must
    be ours with no group or other access. Otherwise (a configured path) it
    must be owned by us or root and writable by its owner only.
    """
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        pass  # checked below, whoever made it
    except OSError as e:
        raise PortholeError(UNSAFE_DIR, f"cannot create {folder} for porthole-core's socket: {e.strerror}") from e
    st = os.lstat(folder)  # a symlink is refused, not followed
    me = os.geteuid()
    if not stat.S_ISDIR(st.st_mode):
        raise PortholeError(UNSAFE_DIR, f"{folder} is not a directory: refusing to put porthole-core's socket there")
    owners = (me,) if private else (me, 0)
    if st.st_uid not in owners:
        raise PortholeError(
            UNSAFE_DIR,
            f"{folder} belongs to uid {st.st_uid}, not to us: another user could answer as porthole-core; "
            "remove it or set [sidecar] socket to a path in a folder of ours",
        )
    open_to = 0o077 if private else 0o022
    if st.st_mode & open_to:
        raise PortholeError(
            UNSAFE_DIR,
            f"{folder} has mode {stat.S_IMODE(st.st_mode):04o}: others could bind porthole-core's socket there "
            f"(need no {'group or other access' if private else 'group or other write'})",
        )


def check_listener(path: Path, child_pid: int) -> None:
    """Raises NOT_OUR_CORE unless the process listening on path is child_pid (or its descendant), as our uid."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2.0)
        try:
            s.connect(str(path))
            pid, uid, _ = _UCRED.unpack(s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))
        except OSError as e:
            raise PortholeError(NOT_OUR_CORE, f"cannot ask who listens on {path}: {e}") from e
    if uid != os.geteuid() or not _descends_from(pid, child_pid):
        raise PortholeError(
            NOT_OUR_CORE,
            f"{path} is served by pid {pid} uid {uid}, not by the porthole-core we started (pid {child_pid})",
        )


def _descends_from(pid: int, ancestor: int) -> bool:
    """pid is ancestor or below it (a wrapper that runs porthole-core as its child)."""
    for _ in range(64):
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
        try:
            stat_line = Path(f"/proc/{pid}/stat").read_text()
            pid = int(stat_line.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False
