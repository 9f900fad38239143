"""`make bench`'s observers section works: one smoke pass (the owner's keystrokes with 0, 1
and 5 observers of the shared terminal, each a second user's view joined with a share link)
through the real server, agent, porthole-core and pion clients. Checks the shape of what it
writes and that every observer received the echoes, never how fast anything was."""

from __future__ import annotations

from tests.bench.smoke import run_section


def test_observers_section_smoke(tmp_path, test_iface, docker_client, target_image):
    run = run_section(tmp_path, "observers")
    figures = run.figures
    by = {f["extra"]["observers"]: f for f in figures}
    assert sorted(by) == [0, 1, 5]
    for level, f in by.items():
        assert f["unit"] == "ms" and f["n"] >= 1 and f["median"] > 0 and not f["extra"]["lost"], f
        if level:
            # Every observer read some of the owner's echoes at this level (the least of them, bytes).
            assert f["extra"]["observer_bytes_min"] > 0, f
            assert f["extra"]["vs"]["of"] == "0 observers" and f["extra"]["vs"]["median"] > 0, f
    assert "vs 0 observers" in run.stdout
    assert "## Keystroke round trip with observers" in run.markdown
