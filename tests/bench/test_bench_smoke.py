"""`make bench` works: one pass of its smallest configuration (--smoke) over
the terminal sections, through the real server, agent, porthole-core, aiortc
bridge and pion client. Checks the shape of what it writes, never how fast
anything was (figures are for `make bench`, not for tests). The screen
section (Xvfb, Chromium, GStreamer) takes longer; its own test covers it."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

from porthole.bench import sections
from tests.support.stack import REPO, core_binary

# The smoke pass takes about a minute; the rest is headroom for a busy machine.
SMOKE_TIMEOUT_S = 240
TERMINAL_SECTIONS = ["idle", "setup", "keystroke", "relay", "throughput", "concurrency"]
# Figures that are times or rates must be positive; others (RSS deltas, idle CPU) may be 0 or negative.
POSITIVE_UNITS = {"ms", "MB/s"}
ROLES = ("porthole", "floor", "reference", "ceiling", "diagnostic")


def test_smoke_run_writes_every_section(tmp_path, test_iface, docker_client, target_image):
    out_json, out_md = tmp_path / "bench.json", tmp_path / "bench.md"
    env = {**os.environ, "PORTHOLE_CORE": core_binary()}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "porthole.bench",
            "--smoke",
            "--sections",
            ",".join(TERMINAL_SECTIONS),
            "--json",
            str(out_json),
            "--md",
            str(out_md),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_S,
    )
    assert proc.returncode == 0, f"bench failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"

    data = json.loads(out_json.read_text())
    assert data["mode"] == "smoke"
    for key in ("cpu", "cores", "ram_gib", "kernel", "go", "pion_webrtc", "aiortc", "docker_engine"):
        assert data["machine"][key] not in (None, "", "-"), key
    figures = data["figures"]
    registry = {k: v for k, v in sections.load().items() if k in TERMINAL_SECTIONS}
    assert set(registry) == set(TERMINAL_SECTIONS)
    assert {f["section"] for f in figures} == set(registry)
    for f in figures:
        assert f["n"] >= 1, f
        assert f["how"] and f["unit"] and f["role"] in ROLES, f
        assert isinstance(f["median"], (int, float)) and math.isfinite(f["median"]), f
        if f["unit"] in POSITIVE_UNITS:
            assert f["median"] > 0 and f["worst"] > 0, f
        assert not f["extra"].get("lost"), f"keystrokes lost: {f}"
    for sec in registry.values():
        roles = {f["role"] for f in figures if f["section"] == sec.key}
        assert "porthole" in roles and roles - {"porthole"}, f"{sec.key}: no reference next to the product"

    # Every target of issue 10 is computed from this run's figures (met or not: no timing asserts).
    rows = data["targets"]
    assert rows and all(r["result"] in ("met", "NOT met") for r in rows), rows
    names = {f["name"] for f in figures}
    assert "docker exec, native reader (Go), no WebRTC" in names  # the floor without Python
    assert "docker exec, native (Go), no WebRTC" in names

    page = out_md.read_text()
    assert "## Targets (issue 10)" in page
    assert "== Targets (issue 10) ==" in proc.stdout
    assert "## Machine" in page
    for sec in registry.values():
        assert f"## {sec.title}" in page
    # The table went to stdout too, one heading per section.
    for sec in registry.values():
        assert f"== {sec.title} ==" in proc.stdout

    # --render rewrites the same page from the JSON without measuring anything.
    again = tmp_path / "again.md"
    subprocess.run(
        [sys.executable, "-m", "porthole.bench", "--render", str(out_json), "--md", str(again)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert again.read_text() == page
