"""`porthole server` as a process: hash-password, dev-config, run and SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from porthole.server import passwords

# Runs the server subcommand alone (the top-level CLI imports every subcommand).
RUNNER = (
    "import argparse, sys; from porthole.server import cli; "
    "p = argparse.ArgumentParser(); cli.add_arguments(p); sys.exit(cli.run(p.parse_args(sys.argv[1:])))"
)
START_TIMEOUT_S = 15


def server_cmd(*args: str) -> list[str]:
    return [sys.executable, "-c", RUNNER, *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_hash_password_reads_stdin() -> None:
    out = subprocess.run(
        server_cmd("hash-password"), input="s3cret pass\n", capture_output=True, text=True, timeout=30, check=True
    )
    encoded = out.stdout.strip()
    assert passwords.verify_password("s3cret pass", encoded)
    empty = subprocess.run(server_cmd("hash-password"), input="\n", capture_output=True, text=True, timeout=30)
    assert empty.returncode == 2


def test_missing_or_bad_config_exits_2(tmp_path: Path) -> None:
    out = subprocess.run(server_cmd(), capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--config" in out.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nlisten = 5\n")
    out = subprocess.run(server_cmd("--config", str(bad)), capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "server.listen" in out.stderr


def test_dev_config_then_run_then_sigterm(tmp_path: Path) -> None:
    port = free_port()
    subprocess.run(
        server_cmd("dev-config", str(tmp_path), "--listen", f"127.0.0.1:{port}"),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    proc = subprocess.Popen(
        server_cmd("--config", str(tmp_path / "server.toml")), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert json.load(r) == {"ok": True}
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert f"listening on http://127.0.0.1:{port}" in out
        assert "stopped" in err
        password = (tmp_path / "operator.password").read_text().strip()
        assert password not in out + err
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
