"""A measured figure and the statistics over its samples."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Role = Literal["porthole", "floor", "reference", "ceiling", "diagnostic"]


def num(x: float | None) -> str:
    """A figure for people: three significant digits or so, '-' when missing."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def percentile(samples: list[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks."""
    if not samples:
        return math.nan
    s = sorted(samples)
    k = (len(s) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


@dataclass
class Figure:
    """One line of the table: what was measured, how, and its statistics.

    ``median`` and ``worst`` summarise ``n`` samples: for lower-is-better
    figures ``worst`` is the p99 (the 99th percentile), for higher-is-better
    ones the p1; with fewer than 100 samples it is the worst sample or close.
    """

    section: str
    name: str
    role: Role
    unit: str
    median: float
    worst: float
    n: int
    how: str
    better: Literal["lower", "higher"] = "lower"
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        section: str,
        name: str,
        role: Role,
        unit: str,
        samples: list[float],
        how: str,
        better: Literal["lower", "higher"] = "lower",
        **extra: Any,
    ) -> Figure:
        if not samples:
            return cls(section, name, role, unit, math.nan, math.nan, 0, how, better, extra)
        worst = percentile(samples, 99 if better == "lower" else 1)
        return cls(section, name, role, unit, statistics.median(samples), worst, len(samples), how, better, extra)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("median", "worst"):
            if isinstance(d[k], float) and math.isnan(d[k]):
                d[k] = None
        return d
