"""The short soak (`make soak` runs the long one, not in CI): a few hundred
terminal sessions opened, typed in and closed through the real server, agent,
porthole-core and a container of the test image, some with only the peer
connection closed, some from client processes SIGKILLed whole or with their
peers gone silent. Afterwards nothing of them may be left: no exec process in
the container, no session in the agent or porthole-core, descriptors back
where they were, porthole-core's goroutines too; RSS must not run away. No timing is asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from docker.constants import DEFAULT_MAX_POOL_SIZE, DEFAULT_NUM_POOLS

from tests.support.stack import REPO, core_binary

SESSIONS = 200
# Generous caps so the run always ends by its session count: about a minute and
# a half here; the cap only stops a run that hangs.
MINUTES_CAP = 8
TIMEOUT_S = MINUTES_CAP * 60 + 300
# Long enough that the whole run is one phase after warm-up (start, warm-up, end samples).
SAMPLE_EVERY_S = 600
# A dropped client every 10 s: both kinds of drop happen even on a fast machine.
DROP_EVERY_S = 10
# Descriptors a process may hold more at the end than at the warm-up sample
# (a late-grown pool entry, a log file reopened): a leak of one per session is 100s.
FD_TOLERANCE = 3
# The agent's Docker client (docker-py) keeps idle connections to dockerd: one
# pool per request URL, at most DEFAULT_NUM_POOLS pools (LRU-closed beyond),
# each of at most DEFAULT_MAX_POOL_SIZE connections.
DOCKER_POOL_BOUND = DEFAULT_NUM_POOLS * DEFAULT_MAX_POOL_SIZE
# RSS at the end against the warm-up sample: a loose bound; a per-session leak
# of a few hundred KiB over 200 sessions exceeds it, allocator noise does not.
RSS_FACTOR = 1.5
# porthole-core's goroutines with no session open, against the warm-up sample: a
# few may be parked in pools (gRPC, the handoff listener); a leak of one per
# session is 100s.
GOROUTINE_TOLERANCE = 5


def test_short_soak_leaves_nothing_behind(tmp_path, test_iface, docker_client, target_image):
    out = tmp_path / "soak.json"
    env = {**os.environ, "PORTHOLE_CORE": core_binary()}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "porthole.bench.soak",
            "--sessions",
            str(SESSIONS),
            "--minutes",
            str(MINUTES_CAP),
            "--sample-every",
            str(SAMPLE_EVERY_S),
            "--drop-every",
            str(DROP_EVERY_S),
            "--json",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert out.exists(), (
        f"soak wrote no results (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    )
    r = json.loads(out.read_text())
    t, v, samples = r["tally"], r["verdict"], r["samples"]
    why = f"\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"

    assert t["attempted"] == SESSIONS, why
    assert t["established"] == t["attempted"] and t["typed"] == t["established"], t["errors"]
    assert t["error_count"] == 0, t["errors"]
    # Every way of ending happened, and the device ended the silent peers' sessions itself.
    for how in ("closed", "peer_closed", "client_killed", "peer_vanished"):
        assert t["ended"].get(how, 0) > 0, (how, t["ended"])
    assert t["vanished"] > 0 and t["vanished_ended_by_device"] == t["vanished"], t

    start, warm, end = samples[0], samples[1], samples[-1]
    assert [s["label"] for s in samples] == ["start", "warm-up", "end"]
    for s in samples:
        assert s["quiet"], f"sessions still running {s['quiesce_s']} s after the last ended: {s}"
        assert s["container"]["exec_processes"] == 0, s["container"]
        assert s["container"]["execs_running"] == 0, s["container"]
        assert s["agent_sessions"] == 0 and s["core_sessions"] == 0, s
    assert not v["core_restarted"], [s["core"]["pid"] for s in samples]

    for who in ("agent", "core"):
        assert end[who]["fds"] <= warm[who]["fds"] + FD_TOLERANCE, (who, warm[who], end[who])
        assert end[who]["rss_kib"] <= warm[who]["rss_kib"] * RSS_FACTOR, (who, warm[who], end[who])
    assert end["core"]["fds"] <= start["core"]["fds"] + FD_TOLERANCE, (start["core"], end["core"])
    assert end["core"]["goroutines"] <= warm["core"]["goroutines"] + GOROUTINE_TOLERANCE, (warm["core"], end["core"])
    # The agent's own descriptors come back to where they started; its idle
    # connections to dockerd are docker-py's pool, bounded by its constants.
    assert end["agent"]["own_fds"] <= start["agent"]["own_fds"] + FD_TOLERANCE, (start["agent"], end["agent"])
    assert end["agent"]["dockerd_connections"] <= DOCKER_POOL_BOUND, end["agent"]
