"""The Docker side of the test bed: the target image, make_container, docker top.

Also the path every terminal session takes: `docker exec` with a TTY through
the Engine API (as `docker exec -it` does), resized, as root and as `operator`.
"""

from __future__ import annotations

import os
import signal
import socket
import time

import docker.errors
import pytest

from tests.support.dockerenv import TEST_LABEL, ContainerFactory, container_processes
from tests.support.waiting import wait_for

EXEC_TIMEOUT = 15.0  # s; an exec in a busybox container answers in milliseconds


def run_tty_exec(
    container, cmd: list[str], rows: int, cols: int, user: str = "", stdin: bytes = b""
) -> tuple[str, int]:
    """Runs cmd in a TTY exec, resizes it to rows x cols, then writes stdin.

    The exec must still be running when it is resized: start cmd with
    `read go` and pass stdin=b"go\n" when it prints anything size-dependent.
    Returns (everything the TTY printed, exit code)."""
    api = container.client.api
    exec_id = api.exec_create(container.id, cmd, stdin=True, tty=True, user=user)["Id"]
    sock = api.exec_start(exec_id, tty=True, socket=True)
    raw: socket.socket = sock._sock
    try:
        api.exec_resize(exec_id, height=rows, width=cols)
        raw.sendall(stdin)
        raw.settimeout(EXEC_TIMEOUT)
        out = b""
        deadline = time.monotonic() + EXEC_TIMEOUT
        while time.monotonic() < deadline:
            chunk = raw.recv(65536)
            if not chunk:
                break
            out += chunk
        else:
            raise AssertionError(f"exec {cmd} still running after {EXEC_TIMEOUT}s; output so far {out!r}")
    finally:
        sock.close()
        raw.close()  # SocketIO.close() leaves the socket itself open
    info = wait_for(
        lambda: (lambda i: i if not i["Running"] else None)(api.exec_inspect(exec_id)),
        EXEC_TIMEOUT,
        message=f"exec {cmd} to finish",
    )
    return out.decode(errors="replace"), info["ExitCode"]


def test_target_image_is_labelled_busybox_that_sleeps(docker_client, target_image):
    image = docker_client.images.get(target_image)
    assert image.labels.get("porthole.build-hash"), image.labels
    assert image.attrs["Config"]["Cmd"] == ["sleep", "2147483647"]


def test_make_container_runs_without_network(make_container):
    c = make_container(labels={"porthole.case": "netless"})
    assert c.status == "running"
    assert c.name.startswith("porthole-test-")
    assert c.labels["porthole.case"] == "netless"
    assert c.labels[TEST_LABEL] == str(os.getpid())
    assert c.attrs["HostConfig"]["NetworkMode"] == "none"
    code, out = c.exec_run(["cat", "/proc/net/dev"])
    assert code == 0
    ifaces = {line.split(":")[0].strip() for line in out.decode().splitlines()[2:]}
    assert ifaces == {"lo"}, out


def test_make_container_refuses_a_network(make_container):
    with pytest.raises(ValueError, match="network none"):
        make_container(network_mode="host")


def test_tty_exec_gets_its_size_as_root(make_container):
    c = make_container()
    out, code = run_tty_exec(c, ["sh", "-c", "read go; stty size; id -u; tty"], rows=33, cols=101, stdin=b"go\n")
    assert code == 0, out
    lines = [line.strip() for line in out.splitlines()]
    # The TTY echoes what we typed, then the command's own lines (CRLF: a real PTY).
    assert lines[:3] == ["go", "33 101", "0"], out
    assert lines[3].startswith("/dev/pts/"), out
    assert "\r\n" in out


def test_tty_exec_as_operator(make_container):
    c = make_container()
    out, code = run_tty_exec(
        c,
        ["sh", "-c", "read go; id; echo hi > /tmp/mine && ls -ln /tmp/mine; echo $HOME; stty size"],
        rows=24,
        cols=80,
        user="operator",
        stdin=b"go\n",
    )
    assert code == 0, out
    assert "uid=1000(operator) gid=1000(operator)" in out
    assert " 1000 " in out  # /tmp/mine belongs to operator
    assert "/home/operator" in out
    assert "24 80" in out


def test_tty_exec_exit_code(make_container):
    c = make_container()
    out, code = run_tty_exec(c, ["sh", "-c", "read go; exit 7"], rows=24, cols=80, stdin=b"go\n")
    assert code == 7, out


def test_container_processes_follows_execs(make_container):
    c = make_container()
    procs = container_processes(c)
    assert [p["cmd"] for p in procs] == ["sleep 2147483647"], procs
    assert procs[0]["pid"] == c.attrs["State"]["Pid"] and procs[0]["uid"] == 0

    c.client.api.exec_start(c.client.api.exec_create(c.id, ["sleep", "1234"], user="operator")["Id"], detach=True)
    mine = wait_for(
        lambda: [p for p in container_processes(c) if p["cmd"] == "sleep 1234"],
        EXEC_TIMEOUT,
        message="the exec'd sleep in docker top",
    )
    assert len(mine) == 1 and mine[0]["uid"] == 1000, mine

    os.kill(mine[0]["pid"], signal.SIGKILL)  # its host pid: we share the host's pid namespace
    wait_for(
        lambda: [p["cmd"] for p in container_processes(c)] == ["sleep 2147483647"],
        EXEC_TIMEOUT,
        message="only the main process left",
    )


def test_factory_cleanup_removes_what_it_made(docker_client, target_image):
    factory = ContainerFactory(docker_client, target_image)
    made = [factory(), factory(name=f"porthole-test-named-{os.getpid()}")]
    assert len({c.name for c in made}) == 2
    factory.cleanup()
    for c in made:
        with pytest.raises(docker.errors.NotFound):
            docker_client.containers.get(c.id)
    factory.cleanup()  # twice is harmless
