"""`make bench`'s files section works: one smoke pass (a 256 KiB file up and down on the
files channel, and `docker cp` both ways) through the real server, agent, porthole-core
and pion client. Checks the shape of what it writes, never how fast anything was."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.stack import REPO, core_binary

TIMEOUT_S = 120


def test_files_section_smoke(tmp_path, test_iface, docker_client, target_image):
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    env = {**os.environ, "PORTHOLE_CORE": core_binary()}
    proc = subprocess.run(
        [
            *(sys.executable, "-m", "porthole.bench", "--smoke", "--sections", "files"),
            *("--json", str(out_json), "--md", str(out_md)),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert proc.returncode == 0, f"bench failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    figures = [f for f in json.loads(out_json.read_text())["figures"] if f["section"] == "files"]
    by = {f["name"]: f for f in figures}
    assert set(by) == {
        "Porthole upload (files channel)",
        "Porthole download (files channel)",
        "docker cp into the container",
        "docker cp out of the container",
    }
    for f in figures:
        assert f["n"] == 1 and f["unit"] == "MB/s" and f["median"] > 0, f
    assert "## File transfer" in out_md.read_text()
