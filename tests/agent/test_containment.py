"""A terminal session cannot reach what runs the device (issue 14, containment):
from inside its container, porthole-core's gRPC and descriptor sockets, the
agent's admin socket and the Docker socket are not there, no unix socket of
the host is in its filesystem or its network namespace, the agent's processes
are not visible, and the agent's metrics listener and the signaling hub do not
answer. Each probe has a control made in the container, so a probe that cannot
see anything would fail the test: a socket there is found, a listener there
answers, its own processes are listed."""

from __future__ import annotations

import os
import re
import socket
import stat
from pathlib import Path

from porthole.agent import handoff
from tests.agent.test_terminal import wait_target

DOCKER_SOCKET = "/var/run/docker.sock"  # the agent's `targets.docker_socket` default, which the fixture keeps
CONTROL_PORT = 7000  # a listener the session starts in its own container
# Not used by this agent (the fixture names its sockets), but where the default ones live (agent/coresock.py).
OTHER_PATHS = ("/run/porthole", f"/tmp/porthole-{os.geteuid()}", "/run/docker.sock", "/run/containerd")
SYSLOGD = "syslogd </dev/null >/dev/null 2>&1; until [ -S /dev/log ]; do sleep 0.1; done"
FIND_SOCKETS = r"find / \( -path /proc -o -path /sys \) -prune -o -type s -print"


async def run(term, cmd: str, tag: str, timeout: float = 30.0) -> list[str]:
    """Types `cmd` into the shell; returns the lines it printed (the typed echo split the markers)."""
    term.type(f"echo {tag}-be''gin; {cmd}; echo {tag}-e''nd\r")
    text = await term.wait_output(f"{tag}-end", timeout)
    body = text.rsplit(f"{tag}-begin", 1)[1].split(f"{tag}-end", 1)[0]
    return [ln.strip() for ln in body.splitlines() if ln.strip()]


def metrics_port(log: str) -> int:
    m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", log)
    assert m, f"agent log does not say where its metrics listen:\n{log[-3000:]}"
    return int(m.group(1))


def is_socket(path: Path | str) -> bool:
    try:
        return stat.S_ISSOCK(Path(path).stat().st_mode)
    except FileNotFoundError:
        return False


async def test_session_cannot_reach_agent_core_or_docker(agent, make_container):
    conf_dir = agent.log_path.parent
    core_sock = conf_dir / "core.sock"
    host_sockets = [core_sock, handoff.socket_path(core_sock), conf_dir / "admin.sock", Path(DOCKER_SOCKET)]
    # The attacker's targets are real: each is a socket on the host, each TCP port answers there.
    assert all(is_socket(p) for p in host_sockets), {str(p): is_socket(p) for p in host_sockets}
    metrics = metrics_port(agent.log())
    for port in (metrics, agent.hub.port):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()

    box = make_container()
    # Control: syslogd binds /dev/log, a unix socket in the container's filesystem and network namespace.
    code, said = box.exec_run(["sh", "-c", SYSLOGD], user="root")
    assert code == 0, said
    await wait_target(agent, box.name)
    _, term = await agent.open_terminal(box.name, cols=1000)

    # (a, b, c) By their host paths: not in the container.
    paths = [str(p) for p in host_sockets] + [str(conf_dir), *OTHER_PATHS]
    quoted = " ".join(f"'{p}'" for p in paths)
    out = await run(term, f'for p in {quoted}; do [ -e "$p" ] || echo "absent $p"; done', "paths")
    assert sorted(ln.removeprefix("absent ") for ln in out) == sorted(paths), out

    # Any unix socket in the container's filesystem: only the control, as the session sees it and as root.
    assert await run(term, f"{FIND_SOCKETS} 2>/dev/null", "find") == ["/dev/log"]
    code, found = box.exec_run(["sh", "-c", FIND_SOCKETS], user="root")
    assert (code, found.decode().split()) == (0, ["/dev/log"]), (code, found)

    # Bound in its network namespace (abstract ones too): the control, none of the device's.
    unix = "\n".join(await run(term, "cat /proc/net/unix", "netunix"))
    assert "/dev/log" in unix, unix
    for name in ("core.sock", "admin.sock", "docker.sock", "containerd"):
        assert name not in unix, (name, unix)

    # The agent, porthole-core and dockerd are not among the processes it sees; its own are.
    procs = " ".join(await run(term, "cat /proc/[0-9]*/cmdline | tr '\\0' ' '", "procs"))
    assert "sleep" in procs and "syslogd" in procs, procs
    for name in ("porthole", "dockerd", "containerd"):
        assert name not in procs, (name, procs)

    # Over the network: the agent's metrics listener and the signaling hub do not answer;
    # a listener in the container does (the probe works). The container's only interface is lo.
    out = await run(
        term,
        f"(nc -l -p {CONTROL_PORT} </dev/null >/dev/null 2>&1 &); "
        f"until netstat -ltn | grep -q ':{CONTROL_PORT} '; do sleep 0.1; done; "
        f"for port in {CONTROL_PORT} {metrics} {agent.hub.port}; do "
        'nc -w 2 127.0.0.1 $port </dev/null >/dev/null 2>&1; echo "tcp $port rc=$?"; done; ls /sys/class/net',
        "tcp",
    )
    assert out == [f"tcp {CONTROL_PORT} rc=0", f"tcp {metrics} rc=1", f"tcp {agent.hub.port} rc=1", "lo"], out
    assert agent.proc.poll() is None
