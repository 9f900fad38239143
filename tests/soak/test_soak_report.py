"""The soak's verdict and page from given results (no stack): growth is judged
from the warm-up sample to the end, counts with the 5 % rounded up to a whole
one; the Soak section of the page is replaced whole and the rest kept."""

from __future__ import annotations

import copy
import os
import re

from porthole.bench.peer import REPO
from porthole.bench.soak import __main__ as soak_main
from porthole.bench.soak import probe, report, workload
from porthole.bench.soak.__main__ import STEADY_SESSIONS, judge, steady_baseline


def _sample(label: str, rss: int, fds: int, threads: int, *, procs: int = 0) -> dict:
    proc = {
        "pid": 7,
        "rss_kib": rss,
        "fds": fds,
        "own_fds": fds - 2,
        "threads": threads,
        "dockerd_connections": 2,
        "fd_kinds": {"socket": fds},
    }
    return {
        "label": label,
        "t_s": 1.0,
        "attempted": 1,
        "established": 1,
        "quiet": True,
        "quiesce_s": 0.0,
        "agent": dict(proc),
        "core": dict(proc),
        "loadavg_1m": 1.0,
        "agent_sessions": 0,
        "core_sessions": 0,
        "container": {"exec_processes": procs, "execs_running": 0, "processes": []},
    }


def _tally(attempted: int, established: int) -> workload.Tally:
    t = workload.Tally(attempted=attempted, established=established, typed=established)
    t.ended["closed"] = established
    return t


def test_growth_counts_round_up_to_one_and_rss_is_five_percent():
    samples = [_sample("start", 1000, 10, 10), _sample("warm-up", 1000, 10, 10), _sample("end", 1050, 11, 11)]
    v = judge(_tally(5, 5), samples)
    assert v["growth"]["agent.rss_kib"]["met"] and v["growth"]["core.threads"]["met"]
    assert v["growth"]["agent.fds"]["met"] and v["growth_met"] and v["all_established"]

    samples[-1] = _sample("end", 1051, 12, 10)
    v = judge(_tally(5, 5), samples)
    assert not v["growth"]["agent.rss_kib"]["met"] and not v["growth"]["agent.fds"]["met"]
    assert v["growth"]["core.threads"]["met"] and not v["growth_met"]


def test_a_failed_session_or_a_leftover_process_is_a_failure():
    samples = [_sample("start", 1000, 10, 10), _sample("warm-up", 1000, 10, 10), _sample("end", 1000, 10, 10)]
    assert not judge(_tally(5, 4), samples)["all_established"]
    assert not judge(_tally(0, 0), samples)["all_established"]
    samples[-1] = _sample("end", 1000, 10, 10, procs=1)
    v = judge(_tally(5, 5), samples)
    assert not v["no_leftovers"] and v["leftover_samples"] == ["end"]


def _results(minutes: float) -> dict:
    samples = [_sample("start", 1000, 10, 10), _sample("warm-up", 1000, 10, 10), _sample("end", 1000, 10, 10)]
    t = _tally(5, 5)
    machine = {
        "cpu": "cpu",
        "cores": 2,
        "cores_usable": 2,
        "ram_gib": 1,
        "os": "os",
        "kernel": "k",
        "docker_engine": "d",
        "go": "g",
        "pion_webrtc": "p",
        "python": "3",
        "commit": "c",
        "dirty": False,
    }
    return {
        "started_utc": "now",
        "duration_s": 60.0,
        "machine": machine,
        "loadavg_1m": [1.0, 1.0],
        "args": {"minutes": minutes, "sessions": None, "parallel": 4, "sample_every_s": 60.0, "drop_every_s": 20.0},
        "constants": {
            "peer_close_every": 5,
            "drop_sessions": 3,
            "peer_vanish_hold_s": 45.0,
            "warmup_sessions": 24,
            "quiesce_timeout_s": 90.0,
            "growth_target_pct": 5.0,
        },
        "tally": t.as_dict(),
        "samples": samples,
        "verdict": judge(t, samples),
    }


def test_the_section_is_replaced_whole_and_the_rest_of_the_page_kept(tmp_path):
    page = tmp_path / "reliability.md"
    page.write_text("# Reliability\n\nintro\n\n## Other\n\nkept\n")
    short = _results(5.0)
    report.write(page, short, "r.json")
    first = page.read_text()
    assert first.startswith("# Reliability\n\nintro\n\n## Other\n\nkept\n")
    assert "make soak SOAK_MINUTES=5" in first and "still to be run" in first
    assert first.count(report.BEGIN) == 1 and report.all_met(short)

    full = copy.deepcopy(short)
    full["args"]["minutes"] = 30.0
    report.write(page, full, "r.json")
    second = page.read_text()
    assert second.count(report.BEGIN) == 1 and second.count("## Soak") == 1
    assert "still to be run" not in second and "`make soak`" in second
    assert "## Other\n\nkept" in second


def test_growth_is_judged_from_the_first_sample_after_the_pools_filled():
    def at(label: str, attempted: int, rss: int) -> dict:
        s = _sample(label, rss, 10, 10)
        s["attempted"] = attempted
        return s

    n = STEADY_SESSIONS
    # A long run: the first sample past STEADY_SESSIONS, early enough, is the baseline.
    samples = [at("start", 0, 900), at("warm-up", 24, 1000), at("5 min", n, 1200), at("end", 4 * n, 1250)]
    assert steady_baseline(samples)["label"] == "5 min"
    v = judge(_tally(4 * n, 4 * n), samples)
    assert v["baseline"] == "5 min" and v["growth"]["agent.rss_kib"]["met"]
    assert not v["growth_from_warmup"]["agent.rss_kib"]["met"]
    # A leak that goes on after it is still caught.
    samples[-1] = at("end", 4 * n, 1300)
    assert not judge(_tally(4 * n, 4 * n), samples)["growth"]["agent.rss_kib"]["met"]
    # A short run: that sample would leave less than half the run; the warm-up sample it is.
    samples = [at("start", 0, 900), at("warm-up", 24, 1000), at("1 min", n, 1000), at("end", n + n // 2, 1000)]
    assert steady_baseline(samples)["label"] == "warm-up"
    # porthole-core's goroutines are judged like the other counts, when measured.
    samples = [at("start", 0, 900), at("warm-up", 24, 1000), at("end", 100, 1000)]
    samples[1]["core"]["goroutines"], samples[2]["core"]["goroutines"] = 14, 15
    assert judge(_tally(100, 100), samples)["growth"]["core.goroutines"]["met"]
    samples[2]["core"]["goroutines"] = 16
    assert not judge(_tally(100, 100), samples)["growth"]["core.goroutines"]["met"]


def test_rss_by_kind_is_shown_when_the_samples_have_it_and_left_out_for_older_results():
    old = _results(30.0)
    assert "RSS by kind" not in report.section(old, "r.json")  # a run from before the split

    split = copy.deepcopy(old)
    for i, s in enumerate(split["samples"]):
        s["agent"].update(rss_anon_kib=600 * 1024, rss_file_kib=(10 + i) * 1024)
        s["core"].update(rss_anon_kib=20 * 1024, rss_file_kib=5 * 1024)
    text = report.section(split, "r.json")
    assert "RSS by kind" in text
    assert "| warm-up | 600.0 | 11.0 | 20.0 | 5.0 |" in text and "| end | 600.0 | 12.0 | 20.0 | 5.0 |" in text


def test_probe_splits_rss_into_anonymous_and_file_backed():
    p = probe.process(os.getpid())
    # VmRSS = RssAnon + RssFile + RssShmem.
    assert p["rss_anon_kib"] > 0 and p["rss_file_kib"] > 0
    assert p["rss_anon_kib"] + p["rss_file_kib"] <= p["rss_kib"]


def test_samples_wait_past_porthole_cores_idle_heap_release():
    # The Go constant the soak's CORE_IDLE_RELEASE_S mirrors; a sample before it reads the
    # heap the sessions' garbage left (a race: 44-49 MiB against 26-28 once released).
    go = (REPO / "core-go" / "internal" / "memory" / "release.go").read_text()
    m = re.search(r"^const IdleDelay = (\d+) \* time\.Second$", go, re.M)
    assert m, "release.go no longer declares IdleDelay in whole seconds; update the soak and this test"
    assert float(m.group(1)) == soak_main.CORE_IDLE_RELEASE_S
    assert soak_main.SETTLE_S >= soak_main.CORE_IDLE_RELEASE_S + 2
