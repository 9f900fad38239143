"""CPU time and RSS of processes, read from /proc (Linux)."""

from __future__ import annotations

import os
import time
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    """Resident set size (VmRSS), KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ProcessLookupError(pid)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all threads)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(pid: int) -> list[tuple[int, str]]:
    """Direct children of pid as (pid, command name)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid:
            out.append((int(entry.name), comm))
    return out


class CpuMeter:
    """CPU used by some processes between start() and stop(), as a share of one core."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._t0 = 0.0
        self._cpu0: dict[str, float] = {}
        self.wall = 0.0  # seconds between start() and stop()

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._cpu0 = {k: cpu_seconds(p) for k, p in self.pids.items()}

    def stop(self) -> dict[str, float]:
        wall = self.wall = time.monotonic() - self._t0
        return {k: (cpu_seconds(p) - self._cpu0[k]) / wall for k, p in self.pids.items()}
