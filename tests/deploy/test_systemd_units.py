"""deploy/systemd: the units pass `systemd-analyze verify` without a single warning, with
their ExecStart pointed at this checkout's `porthole` (verify refuses a missing binary), and
keep what the agent must keep (the host's PID namespace, its runtime directory)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNITS = REPO / "deploy" / "systemd"
SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze"
INSTALLED = "/usr/local/bin/porthole "  # where docs/deploy.md installs the command
PORTHOLE = Path(sys.executable).parent / "porthole"  # the venv's entry point


def verify(unit_text: str, name: str, tmp_path: Path, porthole: Path = PORTHOLE) -> str:
    """`systemd-analyze verify` of one unit with `porthole` (the venv's) in ExecStart; its whole output."""
    assert INSTALLED in unit_text, f"{name}: ExecStart no longer runs {INSTALLED.strip()}"
    path = tmp_path / name
    path.write_text(unit_text.replace(INSTALLED, f"{porthole} "))
    r = subprocess.run([SYSTEMD_ANALYZE, "verify", "--man=no", str(path)], capture_output=True, text=True, timeout=60)
    out = (r.stdout + r.stderr).strip()
    return f"exit {r.returncode}: {out}" if r.returncode or out else ""


def units() -> list[Path]:
    return sorted(UNITS.glob("*.service"))


@pytest.fixture(autouse=True)
def _tools() -> None:
    assert shutil.which(SYSTEMD_ANALYZE), f"{SYSTEMD_ANALYZE} missing (Debian package systemd)"
    assert PORTHOLE.exists(), f"{PORTHOLE}: build the venv first (make build)"


def test_the_units_exist() -> None:
    assert [u.name for u in units()] == ["porthole-agent.service", "porthole-server.service"]


@pytest.mark.parametrize("unit", units(), ids=lambda u: u.name)
def test_unit_verifies_cleanly(unit: Path, tmp_path: Path) -> None:
    assert verify(unit.read_text(), unit.name, tmp_path) == ""


def test_the_check_sees_a_mistake(tmp_path: Path) -> None:
    """A misspelt key is only a warning to systemd: the check above must still fail on it."""
    text = (UNITS / "porthole-agent.service").read_text().replace("NoNewPrivileges=", "NoNewPrivilege=")
    assert "Unknown key 'NoNewPrivilege'" in verify(text, "porthole-agent.service", tmp_path)
    text = (UNITS / "porthole-server.service").read_text()
    assert "is not executable" in verify(text, "porthole-server.service", tmp_path, tmp_path / "missing")


def _service(unit: Path) -> dict[str, list[str]]:
    keys: dict[str, list[str]] = {}
    section = ""
    for line in unit.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and not line.startswith("#") and section == "Service":
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    return keys


def test_the_agent_stays_in_the_host_pid_namespace_and_sees_its_processes() -> None:
    svc = _service(UNITS / "porthole-agent.service")
    for forbidden in ("PrivatePIDs", "ProtectProc", "ProcSubset", "PrivateUsers", "User", "DynamicUser"):
        assert forbidden not in svc, f"porthole-agent.service: {forbidden}= would break killing exec processes"
    assert svc["RuntimeDirectory"] == ["porthole"]  # /run/porthole: core.sock, admin.sock
    assert svc["RuntimeDirectoryMode"] == ["0700"]
    assert "AF_NETLINK" in svc["RestrictAddressFamilies"][0]  # pion lists interfaces
    for key in ("NoNewPrivileges", "ProtectSystem", "PrivateTmp"):
        assert key in svc


def test_the_server_runs_unprivileged() -> None:
    svc = _service(UNITS / "porthole-server.service")
    assert svc["User"] == ["porthole"] and svc["NoNewPrivileges"] == ["yes"]
    assert svc["ProtectSystem"] == ["strict"] and svc["StateDirectory"] == ["porthole"]
