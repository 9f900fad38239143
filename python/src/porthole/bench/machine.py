"""The machine and the versions a run measured: for docs/benchmarks.md and the JSON."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any


def _run(*argv: str) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _mem_gib() -> float:
    m = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    return round(int(m.group(1)) / (1 << 20), 1) if m else 0.0


def _go_deps(binary: str) -> dict[str, str]:
    """Go toolchain and pion versions compiled into a binary (`go version -m`)."""
    out = _run("go", "version", "-m", binary)
    deps: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].endswith(":"):
            deps["go"] = parts[1]
        elif len(parts) >= 3 and parts[0] in ("dep", "=>") and parts[1].startswith("github.com/pion/"):
            deps[parts[1]] = parts[2]
    return deps


def _pkg(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def describe(core: str, repo: Path) -> dict[str, Any]:
    deps = _go_deps(core)
    docker_version = _run("docker", "version", "--format", "{{.Server.Version}}")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "ram_gib": _mem_gib(),
        "kernel": platform.release(),
        "os": _run("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME") or platform.platform(),
        "python": sys.version.split()[0],
        "go": deps.get("go", "-"),
        "pion_webrtc": deps.get("github.com/pion/webrtc/v4", "-"),
        "pion_sctp": deps.get("github.com/pion/sctp", "-"),
        "aiortc": _pkg("aiortc"),
        "grpcio": _pkg("grpcio"),
        "docker_engine": docker_version or "-",
        "commit": _run("git", "-C", str(repo), "rev-parse", "--short=12", "HEAD") or "-",
        "dirty": bool(_run("git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no")),
    }
