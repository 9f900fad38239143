"""A real redis-server (Debian's) for the tests and the bench of several server
nodes: on a loopback address, a free port, its data in a directory of the
caller's, with an append-only file (a restart keeps what was written, as
docs/configuration.md asks of a deployment).

``start_redis(dir)`` starts one and returns a ``RedisServer`` (``url``,
``restart()``: SIGTERM, then start again on the same port and data,
``stop()``). tests/support/redisserver.py makes it a fixture.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0


def _free_port(ip: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def _answers(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    dir: Path
    ip: str
    port: int
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.ip}:{self.port}/0"

    @property
    def log_path(self) -> Path:
        return self.dir / "redis.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self) -> None:
        argv = [
            "redis-server",
            "--bind",
            self.ip,
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(self.log_path),
            "--protected-mode",
            "no",
        ]
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers(self.ip, self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"redis-server did not start (exit {self.proc.poll()}):\n{self.log()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def restart(self) -> None:
        self.stop()
        self.start()


def available() -> bool:
    return shutil.which("redis-server") is not None


def start_redis(directory: Path, ip: str = "127.0.0.1") -> RedisServer:
    assert available(), "redis-server missing: run `make setup` (Debian package redis-server)"
    directory.mkdir(parents=True, exist_ok=True)
    r = RedisServer(directory, ip, _free_port(ip))
    r.start()
    return r
