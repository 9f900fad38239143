"""porthole-core's socket cannot be squatted (issue 14, 1; agent/coresock.py).

Another uid (nobody, a real process) binds the agent's old default path, or
makes the folder of the new one first: the agent never talks to it. It either
starts on its own private folder or refuses to start with a code; porthole-core
never deletes a socket another user left."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from porthole.agent import coresock
from porthole.agent.config import SidecarConfig
from porthole.agent.sidecar import Sidecar
from porthole.errors import PortholeError
from tests.support.stack import core_binary, ice_iface

NOBODY = 65534
# Binds a unix socket at argv[1] as nobody (argv[2] = "mkdir": make its folder 0777 first),
# prints "ready", then one line per connection it receives; "stale" closes it at once.
SQUATTER = r"""
import os, socket, sys
path, mode = sys.argv[1], sys.argv[2]
if mode == "mkdir":
    os.mkdir(os.path.dirname(path), 0o777)
    os.chmod(os.path.dirname(path), 0o777)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o777)
s.listen(16)
print("ready", flush=True)
if mode == "stale":
    sys.exit(0)
while True:
    c, _ = s.accept()
    print("connection", flush=True)
    c.close()
"""


def squat(path: Path, mode: str = "bind") -> subprocess.Popen:
    proc = subprocess.Popen(
        ["/usr/bin/python3", "-I", "-c", SQUATTER, str(path), mode],
        stdout=subprocess.PIPE,
        text=True,
        user=NOBODY,
        group=NOBODY,
        extra_groups=[],
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready", "the squatter did not bind"
    assert path.lstat().st_uid == NOBODY
    return proc


def connections(proc: subprocess.Popen) -> list[str]:
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    return out.split()


@pytest.fixture
def shared_tmp():
    """A folder like /tmp: everyone may write, sticky (under /tmp: pytest's own folders are 0700)."""
    d = Path(tempfile.mkdtemp(prefix="porthole-shared-", dir="/tmp"))
    d.chmod(0o1777)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def sidecar_cfg(path: Path, default: bool) -> SidecarConfig:
    return SidecarConfig(
        binary=core_binary(), socket_path=path, socket_is_default=default, ice_interfaces=(ice_iface(),)
    )


async def test_a_squatter_on_the_old_default_path_gets_nothing(monkeypatch, tmp_path: Path) -> None:
    # The old default without XDG_RUNTIME_DIR: /tmp/porthole-core-<device>-<pid>.sock.
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    old = Path(f"/tmp/porthole-core-dev_squat-{os.getpid()}.sock")
    old.unlink(missing_ok=True)
    squatter = squat(old)
    path = coresock.default_path("dev_squat")
    sidecar = Sidecar(sidecar_cfg(path, default=True))
    try:
        await sidecar.start()
        assert sidecar.ready
        folder = path.parent.lstat()
        assert folder.st_uid == os.geteuid() and stat.S_IMODE(folder.st_mode) == 0o700, path.parent
        assert not str(path).startswith("/tmp/porthole-core-")
    finally:
        await sidecar.stop()
        got = connections(squatter)
        old.unlink(missing_ok=True)
    assert got == [], "the agent talked to the squatter"
    assert not path.exists()


async def test_a_private_folder_made_first_by_another_user_is_refused(monkeypatch, shared_tmp: Path) -> None:
    # Whoever makes <runtime dir>/porthole first could bind the default socket in it.
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared_tmp))
    path = coresock.default_path("dev_squat")
    squatter = squat(path, "mkdir")
    sidecar = Sidecar(sidecar_cfg(path, default=True))
    try:
        with pytest.raises(PortholeError) as e:
            await sidecar.start()
        assert e.value.code == coresock.UNSAFE_DIR and "uid 65534" in e.value.message
        assert sidecar.pid is None, "porthole-core was started anyway"
    finally:
        got = connections(squatter)
    assert got == []
    assert path.exists(), "the agent deleted the other user's socket"


async def test_a_configured_socket_in_a_shared_folder_is_refused(shared_tmp: Path) -> None:
    sidecar = Sidecar(sidecar_cfg(shared_tmp / "core.sock", default=False))
    with pytest.raises(PortholeError) as e:
        await sidecar.start()
    assert e.value.code == coresock.UNSAFE_DIR and "1777" in e.value.message
    assert sidecar.pid is None


def test_a_listener_that_is_not_our_porthole_core_is_refused(shared_tmp: Path) -> None:
    path = shared_tmp / "core.sock"
    squatter = squat(path)
    try:
        with pytest.raises(PortholeError) as e:
            coresock.check_listener(path, os.getpid())
        assert e.value.code == coresock.NOT_OUR_CORE and "uid 65534" in e.value.message
    finally:
        connections(squatter)


def test_porthole_core_leaves_another_users_stale_socket(shared_tmp: Path) -> None:
    path = shared_tmp / "core.sock"
    squat(path, "stale").communicate(timeout=10)
    proc = subprocess.run(
        [core_binary(), "--listen", str(path), "--ice-interfaces", ice_iface()],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1 and "refusing to remove" in proc.stderr, proc.stderr
    assert path.lstat().st_uid == NOBODY, "the other user's socket was removed"
