"""Secrets hygiene over every log a test run writes (docs/security.md).

- Every in-process log record (servers started inside pytest, clients,
  libraries) also goes to ``<basetemp>/pytest-process.log``; processes that
  fixtures start (agents, servers) write their logs under ``tmp_path``, which
  is inside the same ``<basetemp>``. Logs: files ending in .log, .jsonl, .txt,
  .out, .err or .cast there and under the artifacts folder.
- ``secrets_in_logs(roots, secrets)`` finds, in those logs, any of the given
  secrets, any JWT (login tokens and grants are JWTs: none may be logged) and
  any PEM private key. ``known_secrets(basetemp)`` collects what the suite
  generated: the contents of every ``*.secret`` / ``*.password`` file written
  by fixtures (device secrets, dev-config passwords), plus the constants of
  tests/server/conftest.py.
The test that runs last, tests/test_zz_secrets_in_logs.py, puts them together.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

PROCESS_LOG = "pytest-process.log"
LOG_SUFFIXES = {".log", ".jsonl", ".txt", ".out", ".err", ".cast"}
SECRET_FILE_SUFFIXES = {".secret", ".password"}
JWT_RE = re.compile(rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")
PEM_KEY_RE = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# Short strings would match by chance: only secrets of at least this length are looked for.
MIN_SECRET_LEN = 8
MAX_LOG_BYTES = 64 * 1024 * 1024

_handler: logging.Handler | None = None


@pytest.fixture(scope="session", autouse=True)
def _process_log(tmp_path_factory):
    """Copies every in-process log record (INFO and up; porthole's at DEBUG) into the run's basetemp."""
    global _handler
    path = tmp_path_factory.getbasetemp() / PROCESS_LOG
    _handler = logging.FileHandler(path, encoding="utf-8")
    _handler.setLevel(logging.DEBUG)
    _handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(_handler)
    porthole_logger = logging.getLogger("porthole")
    old_level = porthole_logger.level
    porthole_logger.setLevel(logging.DEBUG)
    yield path
    porthole_logger.setLevel(old_level)
    logging.getLogger().removeHandler(_handler)
    _handler.close()
    _handler = None


@pytest.fixture(autouse=True)
def _keep_process_log():
    """Something may have replaced the root handlers (porthole.logs.setup in-process): put ours back."""
    root = logging.getLogger()
    if _handler is not None and _handler not in root.handlers:
        root.addHandler(_handler)
    yield


def log_files(roots: Iterable[Path]) -> list[Path]:
    out = []
    for root in roots:
        if not root.is_dir():
            continue
        for dirpath, _, files in os.walk(root):
            for name in files:
                p = Path(dirpath) / name
                if p.suffix in LOG_SUFFIXES and p.is_file() and not p.is_symlink():
                    out.append(p)
    return sorted(out)


def known_secrets(basetemp: Path) -> set[str]:
    found: set[str] = set()
    for dirpath, _, files in os.walk(basetemp):
        for name in files:
            if Path(name).suffix in SECRET_FILE_SUFFIXES:
                try:
                    value = (Path(dirpath) / name).read_text().strip()
                except (OSError, UnicodeDecodeError):
                    continue
                if len(value) >= MIN_SECRET_LEN:
                    found.add(value)
    for var in ("PORTHOLE_TURN_CREDENTIAL", "PORTHOLE_TURN_PASSWORD"):
        if len(os.environ.get(var, "")) >= MIN_SECRET_LEN:
            found.add(os.environ[var])
    return found


def secrets_in_logs(files: Iterable[Path], secrets: Iterable[str]) -> list[str]:
    """Findings as 'file: what' lines (never the secret itself)."""
    needles = [
        (s.encode(), f"secret #{i} ({len(s)} chars)")
        for i, s in enumerate(sorted(set(secrets)))
        if len(s) >= MIN_SECRET_LEN
    ]
    findings = []
    for f in files:
        try:
            if f.stat().st_size > MAX_LOG_BYTES:
                findings.append(f"{f}: over {MAX_LOG_BYTES} bytes, not scanned")
                continue
            data = f.read_bytes()
        except OSError:
            continue
        for needle, what in needles:
            if needle in data:
                line = data[: data.index(needle)].count(b"\n") + 1
                findings.append(f"{f}:{line}: {what}")
        for m in JWT_RE.finditer(data):
            line = data[: m.start()].count(b"\n") + 1
            findings.append(f"{f}:{line}: a JWT (token or grant)")
        if PEM_KEY_RE.search(data):
            findings.append(f"{f}: a PEM private key")
    return findings
