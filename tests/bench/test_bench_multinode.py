"""`make bench`'s multinode section works: one --smoke pass (two server nodes on
a real redis-server, one alone, stub devices) writes its five figures. Checks
the shape, never the speed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.stack import REPO, core_binary

SMOKE_TIMEOUT_S = 120


def test_multinode_section_writes_its_figures(tmp_path, test_iface):
    out_json = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "porthole.bench", "--smoke", "--sections", "multinode", "--json", str(out_json)],
        cwd=REPO,
        env={**os.environ, "PORTHOLE_CORE": core_binary()},
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"bench failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    figures = json.loads(out_json.read_text())["figures"]
    assert [f["name"] for f in figures] == [
        "offer → answer, client and device on the same node",
        "offer → answer, client and device on different nodes",
        "offer → answer, one node alone (no Redis)",
        "sessions opened per second, one node",
        "sessions opened per second, two nodes",
    ]
    for f in figures:
        assert f["section"] == "multinode" and f["n"] >= 3 and f["median"] > 0, f
        assert (f["unit"], f["better"]) in (("ms", "lower"), ("sessions/s", "higher")), f
