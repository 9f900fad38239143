"""CPU time and RSS of processes, read from /proc (Linux)."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Mapping
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
    fields = stat[stat.rindex(")") + 2 :].split()
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
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == pid:
            out.append((int(entry.name), comm))
    return out


# Docker's own processes: every docker exec bridge, Porthole or not, pays them.
DOCKER_COMMS = ("dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2")


def pids_by_comm(names: tuple[str, ...]) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in names:
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    f = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = f[3] + (f[4] if len(f) > 4 else 0)  # idle + iowait
    return sum(f[:8]) - idle, sum(f[:8])


class MachineMeter:
    """How busy all the machine's CPUs were between start() and stop() (0..1),
    whoever used them: tells whether a figure was taken on a saturated machine."""

    def start(self) -> None:
        self._t0 = _machine_ticks()

    def stop(self) -> float:
        busy, total = _machine_ticks()
        return (busy - self._t0[0]) / max(1, total - self._t0[1])


class CpuMeter:
    """CPU used by some processes between start() and stop(), as a share of one core."""

    def __init__(self, pids: Mapping[str, int | list[int]]) -> None:
        self.pids = pids
        self._t0 = 0.0
        self._cpu0: dict[str, float] = {}
        self.wall = 0.0  # seconds between start() and stop()

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._cpu0 = {k: self._cpu(p) for k, p in self.pids.items()}

    def stop(self) -> dict[str, float]:
        wall = self.wall = time.monotonic() - self._t0
        return {k: (self._cpu(p) - self._cpu0[k]) / wall for k, p in self.pids.items()}

    @staticmethod
    def _cpu(pids: int | list[int]) -> float:
        """A pid, or the sum over a group of pids (those still alive)."""
        if isinstance(pids, int):
            return cpu_seconds(pids)
        total = 0.0
        for p in pids:
            with contextlib.suppress(OSError):  # gone since: it adds nothing
                total += cpu_seconds(p)
        return total
