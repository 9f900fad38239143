"""docs/benchmarks.md and the printed table from a fixture of figures: the observers section's
rows side by side, each ratio to 0 observers written out (no measuring here)."""

from __future__ import annotations

import json
from pathlib import Path

from porthole.bench import report, sections
from porthole.bench.figures import Figure
from porthole.bench.sections import observers

MACHINE = {
    k: "x"
    for k in (
        "commit",
        "cpu",
        "kernel",
        "os",
        "go",
        "pion_webrtc",
        "pion_sctp",
        "python",
        "grpcio",
        "aiortc",
        "docker_engine",
    )
} | {"dirty": False, "cores": 2, "cores_usable": 2, "ram_gib": 4}
RUN = {"quick": False, "started_utc": "2026-12-02 23:00 UTC", "duration_s": 60.0, "loadavg_1m": [1.0, 1.5]}


def fixture() -> list[Figure]:
    figs = []
    for level, median, p99 in ((0, 2.0, 4.0), (1, 2.2, 5.0), (5, 3.0, 8.0)):
        f = Figure(
            "observers", observers.name(level), "porthole", "ms", median, p99, 100, "how", extra={"observers": level}
        )
        if level:
            f.extra["vs"] = {"of": "0 observers", "median": observers.ratio(median, 2.0), "worst": p99 / 4.0}
        figs.append(f)
    return figs


def test_observer_rows_and_ratios_rendered(tmp_path: Path):
    registry = sections.load()
    assert "observers" in registry
    todo = {"observers": registry["observers"]}
    figs = fixture()
    md = tmp_path / "bench.md"
    report.write_markdown(md, {**RUN, "machine": MACHINE}, todo, figs, "bench.json")
    page = md.read_text()
    assert "## Keystroke round trip with observers" in page
    rows = [line for line in page.splitlines() if line.startswith("| Porthole, owner's keystroke")]
    assert rows == [
        "| Porthole, owner's keystroke, 0 observers | porthole | 2.00 | 4.00 | 100 | ms | how |",
        "| Porthole, owner's keystroke, 1 observer | porthole | 2.20 | 5.00 | 100 | ms | "
        "how; **×1.10 median, ×1.25 p99 vs 0 observers** |",
        "| Porthole, owner's keystroke, 5 observers | porthole | 3.00 | 8.00 | 100 | ms | "
        "how; **×1.50 median, ×2.00 p99 vs 0 observers** |",
    ]
    # The section's sentence, under its table and in the summary.
    sentence = (
        "with no observer, 2.20 ms (p99 5.00; ×1.10 median, ×1.25 p99) with 1 and 3.00 ms "
        "(p99 8.00; ×1.50 median, ×2.00 p99) with 5"
    )
    assert page.count(sentence) == 2, page

    printed = report.table(todo, figs)
    assert "(×1.50 median, ×2.00 p99 vs 0 observers)" in printed
    out = tmp_path / "bench.json"
    report.write_json(out, RUN, figs)
    saved = {f["name"]: f for f in json.loads(out.read_text())["figures"]}
    assert saved[observers.name(5)]["extra"]["vs"] == {"of": "0 observers", "median": 1.5, "worst": 2.0}


def test_a_partial_run_renders_without_the_sentence(tmp_path: Path):
    todo = {"observers": sections.load()["observers"]}
    md = tmp_path / "bench.md"
    report.write_markdown(md, {**RUN, "machine": MACHINE}, todo, fixture()[:1], "bench.json")
    page = md.read_text()
    assert "0 observers" in page and "vs 0 observers" not in page and "While others watch" not in page
