"""`make bench`'s observers section works: one smoke pass (the owner's keystrokes with 0, 1
and 5 observers of the shared terminal, each a second user's view joined with a share link)
through the real server, agent, porthole-core and pion clients. Checks the shape of what it
writes and that every observer received the echoes, never how fast anything was."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.stack import REPO, core_binary

TIMEOUT_S = 120


def test_observers_section_smoke(tmp_path, test_iface, docker_client, target_image):
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    env = {**os.environ, "PORTHOLE_CORE": core_binary()}
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "porthole.bench", "--smoke", "--sections", "observers"),
            *("--json", str(out_json), "--md", str(out_md)),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, f"bench failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    figures = [f for f in json.loads(out_json.read_text())["figures"] if f["section"] == "observers"]
    by = {f["extra"]["observers"]: f for f in figures}
    assert sorted(by) == [0, 1, 5]
    for level, f in by.items():
        assert f["unit"] == "ms" and f["n"] >= 1 and f["median"] > 0 and not f["extra"]["lost"], f
        if level:
            # Every observer read some of the owner's echoes at this level (the least of them, bytes).
            assert f["extra"]["observer_bytes_min"] > 0, f
            assert f["extra"]["vs"]["of"] == "0 observers" and f["extra"]["vs"]["median"] > 0, f
    assert "vs 0 observers" in proc.stdout
    assert "## Keystroke round trip with observers" in out_md.read_text()
