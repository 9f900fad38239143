"""The agent refuses to start outside the Docker daemon's PID namespace (issue 14, 4;
agent/hostpids.py): the real agent, started in a private PID namespace
(`unshare --pid`, as `docker run` without `--pid=host` would), exits with
host_pids_required; with `require_host_pids = false` it starts and says why
that is unsafe."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from porthole.agent import hostpids
from tests.support.stack import REPO, write_agent_config

DOCKER_SOCKET = "/var/run/docker.sock"
UNSHARE_PID = ["unshare", "--pid", "--fork", "--mount-proc", "--kill-child=SIGTERM"]


def agent_cmd(tmp_path: Path, require: bool) -> list[str]:
    public_pem = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    cfg = write_agent_config(tmp_path, "http://127.0.0.1:9", "s" * 32, public_pem)
    if not require:
        cfg.write_text(cfg.read_text().replace("[targets]\n", "[targets]\nrequire_host_pids = false\n", 1))
    return [*UNSHARE_PID, sys.executable, "-m", "porthole", "agent", "--config", str(cfg)]


def test_here_the_docker_daemon_is_in_our_pid_namespace() -> None:
    pid = hostpids.docker_peer_pid(DOCKER_SOCKET)
    assert pid is not None and pid > 0
    hostpids.check(DOCKER_SOCKET)  # no refusal: the rest of the suite runs agents here


def test_in_a_private_pid_namespace_the_agent_refuses_to_start(tmp_path: Path) -> None:
    proc = subprocess.run(agent_cmd(tmp_path, require=True), cwd=REPO, capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert hostpids.HOST_PIDS_REQUIRED in out and "--pid=host" in out, out
    assert "sidecar ready" not in out, "the agent went on starting"


def test_the_override_starts_it_with_an_error(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(agent_cmd(tmp_path, require=False), cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while "sidecar ready" not in log.read_text() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        text = log.read_text()
        assert "sidecar ready" in text, text[-3000:]
        assert hostpids.HOST_PIDS_REQUIRED in text and "require_host_pids = false" in text, text[-3000:]
    finally:
        # unshare ignores SIGTERM while it waits; killed, it passes SIGTERM on (--kill-child).
        proc.kill()
        proc.wait(30)
