"""The issue-10 targets table: each row's target, ratio and verdict from a run's figures."""

from __future__ import annotations

from porthole.bench import targets
from porthole.bench.figures import Figure


def fig(section: str, name: str, median: float, worst: float | None = None, **extra) -> Figure:
    return Figure(section, name, "porthole", "ms", median, median if worst is None else worst, 1, "", extra=extra)


def by_name(rows: list[targets.Row]) -> dict[str, targets.Row]:
    return {r.figure: r for r in rows}


def test_rows_compute_targets_and_verdicts():
    figures = [
        fig("keystroke", "Porthole, JSON mode", 1.0, 2.5),
        fig("keystroke", "Porthole, binary mode", 1.5, 4.0),
        fig("keystroke", "aiortc bridge (seed 004), JSON", 1.6),
        fig("keystroke", "docker exec, no WebRTC", 0.5),
        fig("keystroke", "docker exec, native (Go), no WebRTC", 0.3),
        fig("keystroke", "pion ↔ pion, 1-byte echo, no terminal", 0.2),
        fig("throughput", "Porthole, binary mode", 9.0),
        fig("throughput", "docker exec, no WebRTC", 9.5),
        fig("throughput", "docker exec, native reader (Go), no WebRTC", 12.0),
        fig("throughput", "Porthole, binary mode: device CPU per MB", 20.0),
        fig("throughput", "Porthole, JSON mode: device CPU per MB", 0.0),
        fig("throughput", "aiortc bridge (seed 004), JSON: device CPU per MB", 50.0),
        fig("concurrency", "Porthole N=200: round trip", 5.0, 19.0, sessions=200),
        fig("concurrency", "Porthole N=10: round trip", 1.0, 30.0, sessions=10),
        Figure("concurrency", "docker exec, native (Go), no WebRTC, N=200: round trip", "floor", "ms", 0.6, 1.3, 1, ""),
        fig("concurrency", "Porthole N=200: CPU per session, agent", 0.06),
        fig("idle", "RSS, porthole-core", 20.0),
        fig("concurrency", "RSS 60 s after every session closed, porthole-core", 26.0, after_s=60.0),
    ]
    rows = by_name(targets.rows(figures))
    j = rows["keystroke round trip median, JSON mode, vs the aiortc bridge"]
    assert j.met and "1.20 ms" in j.target and j.ratio == "0.62× the bridge"
    assert not rows["keystroke round trip median, binary mode, vs the aiortc bridge"].met
    # The lower floor (native) is the stricter one: 0.3 + 0.2 + 0.4 = 0.9 < 1.0.
    floor = rows["keystroke round trip median, JSON mode, vs docker exec floor + pion ↔ pion hop"]
    assert floor.met is False and "native" in floor.target
    assert rows["keystroke round trip p99, JSON mode"].met
    assert rows["keystroke round trip p99, binary mode"].met is False
    assert rows["binary-mode output vs docker exec floor, Python reader"].met  # 9.0 ≥ 8.55
    assert rows["binary-mode output vs docker exec floor, native reader (Go)"].met is False  # 9.0 < 10.8
    assert rows["device CPU per MB, binary mode, vs the aiortc bridge"].met  # 20 ≤ 25
    assert rows["device CPU per MB, JSON mode, vs the aiortc bridge"].met
    conc = rows["200 sessions × 10 keys/s: round trip p99"]
    assert conc.met  # the largest level, not N=10
    assert conc.target == "≤ 20 ms (docker exec alone, native, at N=200: p99 1.30 ms)"
    assert rows["200 sessions × 10 keys/s: agent CPU per session"].met is False
    rss = rows["porthole-core RSS 60 s after every session closed vs idle"]
    assert rss.met is False and rss.ratio == "1.30× idle" and "25.0 MiB" in rss.target
    page = "\n".join(targets.markdown(figures))
    assert "6 of 13 measured targets met" in page


def test_missing_figures_and_zero_references():
    rows = targets.rows(
        [
            fig("throughput", "Porthole, binary mode: device CPU per MB", 0.0),
            fig("throughput", "aiortc bridge (seed 004), JSON: device CPU per MB", 0.0),
        ]
    )
    cpu = by_name(rows)["device CPU per MB, binary mode, vs the aiortc bridge"]
    assert cpu.ratio == "-" and cpu.met  # 0 ≤ 0.5 × 0, no division by zero
    assert {r.result for r in rows if r is not cpu and "JSON mode, vs the aiortc bridge" not in r.figure} == {
        "not measured"
    }
    assert "not measured" in targets.table([])
