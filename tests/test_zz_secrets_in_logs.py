"""Secrets hygiene: after the suite, no log it wrote holds a password, device
secret, TURN credential, token, grant or private key (tests/support/logscan.py).

Named test_zz_* so that it runs after every other test folder and file. With
pytest workers (scripts/test-py.sh) it runs on its own after them, and scans
their basetemp too (PORTHOLE_SCAN_BASETEMP)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from tests.support import logscan
from tests.support.artifacts import artifacts_root


def test_the_scanner_finds_what_it_looks_for():
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "device.secret").write_text("planted-Secret-1234\n")
        (root / "a.log").write_text("connect with secret planted-Secret-1234\n")
        (root / "b.jsonl").write_text(
            '{"grant": "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVzLXh5eg"}\n'
        )
        (root / "c.txt").write_text("-----BEGIN PRIVATE KEY-----\n")
        (root / "clean.log").write_text("session s_abc opened: user=alice\n")
        secrets = logscan.known_secrets(root)
        assert secrets == {"planted-Secret-1234"}
        findings = logscan.secrets_in_logs(logscan.log_files([root]), secrets)
        assert len(findings) == 3, findings
        assert not any("clean.log" in f for f in findings)
        assert all("planted" not in f for f in findings)  # findings never repeat the secret


def test_no_secret_in_any_log_of_the_run(tmp_path_factory):
    logging.getLogger("porthole.test").info("secrets scan starting")  # the process log exists
    roots = [tmp_path_factory.getbasetemp()]
    workers = os.environ.get("PORTHOLE_SCAN_BASETEMP")
    if workers:
        roots.append(Path(workers))
    secrets = set().union(*(logscan.known_secrets(root) for root in roots))
    try:
        from tests.server.conftest import PASSWORDS, SECRETS, TURN_CREDENTIAL

        secrets |= {*PASSWORDS.values(), *SECRETS.values(), TURN_CREDENTIAL}
    except ImportError:  # the server tests are not part of this checkout
        pass
    files = logscan.log_files([*roots, artifacts_root()])
    assert any(f.name == logscan.PROCESS_LOG for f in files), files
    if workers:  # every worker wrote its process log there
        assert list(Path(workers).glob(f"*/{logscan.PROCESS_LOG}")), f"no worker log in {workers}"
    findings = logscan.secrets_in_logs(files, secrets)
    assert not findings, "secrets in logs:\n" + "\n".join(findings[:50])
    print(f"scanned {len(files)} logs for {len(secrets)} secrets, JWTs and private keys: clean")
