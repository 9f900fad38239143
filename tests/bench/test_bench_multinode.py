"""`make bench`'s multinode section works: one --smoke pass (two server nodes on
a real redis-server, one alone, stub devices) writes its five figures. Checks
the shape, never the speed."""

from __future__ import annotations

from tests.bench.smoke import run_section


def test_multinode_section_writes_its_figures(tmp_path, test_iface):
    figures = run_section(tmp_path, "multinode").figures
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
