"""A real coturn (Debian's `turnserver`) for the relay tests and the bench,
configured from the shipped deploy/coturn/turnserver.conf plus what a test
deployment adds (its secret, address, port, log, the ranges it may relay to).

``start_coturn(dir, listen_ip, allowed_peers=(...), prefix=())`` starts it
(behind ``prefix``, e.g. ``ip netns exec NS``) and returns a ``Coturn`` with
the shared secret, the URLs and ``mint(principal, ttl_s)``; ``stop()`` ends it.
The secret and every minted credential are also written to ``*.secret`` files
in ``dir``, where the tests' secrets scan finds them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from porthole import turn

REPO = Path(__file__).resolve().parents[4]
SHIPPED_CONF = REPO / "deploy" / "coturn" / "turnserver.conf"
START_TIMEOUT_S = 15.0
# A user name in coturn's log: "user <1733160000:s_abc.device>" (TURN REST API: expiry:principal).
USER_RE = re.compile(r"user <(\d+):([^<>\s]+)>")


@dataclass
class Coturn:
    proc: subprocess.Popen
    secret: bytes
    ip: str
    port: int
    log_path: Path
    secrets_dir: Path

    @property
    def urls(self) -> tuple[str, ...]:
        return (f"turn:{self.ip}:{self.port}?transport=udp", f"turn:{self.ip}:{self.port}?transport=tcp")

    def mint(self, principal: str = "alice", ttl_s: float = 300) -> turn.TurnCredential:
        cred = turn.mint_for(self.secret, principal, self.urls, ttl_s)
        # For the run's secrets scan (tests/test_zz_secrets_in_logs.py): no log may hold it.
        self.secrets_dir.joinpath(f"turn-credential-{secrets.token_hex(4)}.secret").write_text(cred.credential)
        return cred

    def allocations(self, principal: str) -> int:
        """How many allocations coturn granted to this principal's credentials."""
        return sum(
            1 for line in self.log().splitlines() if f":{principal}>" in line and "ALLOCATE processed, success" in line
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def used_credentials(self) -> set[str]:
        """The credentials of every user name coturn saw (its log names users, never passwords):
        recomputed from the secret, so that those minted elsewhere (the Porthole server's, for a
        browser and a device) are known to the secrets scan as well."""
        out = set()
        for expiry, principal in set(USER_RE.findall(self.log())):
            with contextlib.suppress(ValueError):  # a name no Porthole server mints
                out.add(turn.mint(self.secret, principal, (), expires_at=int(expiry)).credential)
        return out

    def stop(self) -> None:
        # Before the log can go: every credential that reached this coturn is a secret of the run.
        for i, cred in enumerate(sorted(self.used_credentials())):
            self.secrets_dir.joinpath(f"turn-used-{i}.secret").write_text(cred)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _free_port(ip: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((ip, 0))
        return s.getsockname()[1]


def ranges_without(ranges: tuple[str, ...], host: str) -> list[str]:
    """coturn ``first-last`` ranges with ``host`` cut out (a range holding it becomes two)."""
    h = ipaddress.ip_address(host)
    out: list[str] = []
    for r in ranges:
        first, _, last = r.partition("-")
        lo, hi = ipaddress.ip_address(first), ipaddress.ip_address(last or first)
        if lo.version != h.version or not int(lo) <= int(h) <= int(hi):
            out.append(r)
            continue
        if int(lo) < int(h):
            out.append(f"{lo}-{h - 1}")
        if int(h) < int(hi):
            out.append(f"{h + 1}-{hi}")
    return out


def available() -> bool:
    return shutil.which("turnserver") is not None and SHIPPED_CONF.is_file()


def start_coturn(
    tmp: Path,
    listen_ip: str,
    *,
    allowed_peers: tuple[str, ...] = (),
    prefix: tuple[str, ...] = (),
    port: int | None = None,
    relay_to_self: bool = False,
) -> Coturn:
    """coturn listening on ``listen_ip`` (UDP and TCP), relaying from the same address.

    ``relay_to_self`` keeps ``listen_ip`` in the allowed ranges: only for a test bed where
    every peer shares the TURN host's one address (a deployment never does that)."""
    secret = secrets.token_bytes(32)
    # A namespace of the test's own is empty: the standard port is free there.
    port = port or (3478 if prefix else _free_port(listen_ip))
    conf = tmp / "turnserver.conf"
    log_path = tmp / "turnserver.log"
    lines = [
        SHIPPED_CONF.read_text(),
        "# ---- test deployment",
        f"static-auth-secret={secret.hex()}",
        "realm=porthole.test",
        f"listening-ip={listen_ip}",
        f"relay-ip={listen_ip}",
        f"listening-port={port}",
        f"log-file={log_path}",
        "verbose",  # one line per request: the tests read which user allocated
        f"pidfile={tmp / 'turnserver.pid'}",
        # coturn lets allowed-peer-ip override every denied-peer-ip: an allowed range must
        # not hold the TURN host's own address, or the relay would relay to itself.
        *(
            f"allowed-peer-ip={r}"
            for r in (allowed_peers if relay_to_self else ranges_without(allowed_peers, listen_ip))
        ),
    ]
    conf.write_text("\n".join(lines) + "\n")
    conf.chmod(0o600)  # it holds the secret
    (tmp / "turn.secret").write_text(secret.hex())  # for the secrets scan of the run's logs
    argv = [*prefix, "turnserver", "-c", str(conf)]
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    # The secret in the config is hex text: coturn uses the string as the HMAC key.
    c = Coturn(proc=proc, secret=secret.hex().encode(), ip=listen_ip, port=port, log_path=log_path, secrets_dir=tmp)
    deadline = time.monotonic() + START_TIMEOUT_S
    while "Total General servers" not in c.log() and "listener opened on" not in c.log():
        if proc.poll() is not None or time.monotonic() > deadline:
            c.stop()
            raise AssertionError(f"coturn did not start (exit {proc.poll()}):\n{c.log()[-3000:]}")
        time.sleep(0.1)
    time.sleep(0.3)  # every listener thread up
    return c
