"""`make bench`'s files section works: one smoke pass (a 256 KiB file up and down on the
files channel, and `docker cp` both ways) through the real server, agent, porthole-core
and pion client. Checks the shape of what it writes, never how fast anything was."""

from __future__ import annotations

from tests.bench.smoke import run_section


def test_files_section_smoke(tmp_path, test_iface, docker_client, target_image):
    run = run_section(tmp_path, "files")
    figures = run.figures
    by = {f["name"]: f for f in figures}
    assert set(by) == {
        "Porthole upload (files channel)",
        "Porthole download (files channel)",
        "docker cp into the container",
        "docker cp out of the container",
    }
    for f in figures:
        assert f["n"] == 1 and f["unit"] == "MB/s" and f["median"] > 0, f
    assert "## File transfer" in run.markdown
