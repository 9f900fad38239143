"""One `make bench` section run once in its smallest configuration (--smoke), the
way the section tests use it: the figures it wrote, its Markdown and what it printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.stack import REPO, core_binary

# A smoke pass of one section takes well under a minute; the rest is headroom for a busy machine.
SECTION_TIMEOUT_S = 120


@dataclass
class SectionRun:
    figures: list[dict]  # the section's figures, in the order written
    markdown: str
    stdout: str


def run_section(tmp_path: Path, section: str) -> SectionRun:
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "porthole.bench", "--smoke", "--sections", section),
            *("--json", str(out_json), "--md", str(out_md)),
        ],
        cwd=REPO,
        env={**os.environ, "PORTHOLE_CORE": core_binary()},
        capture_output=True,
        text=True,
        timeout=SECTION_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"bench failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    figures = [f for f in json.loads(out_json.read_text())["figures"] if f["section"] == section]
    return SectionRun(figures, out_md.read_text(), proc.stdout)
