"""Leftover shells of a previous agent run are found by their mark and killed
(agent/reconcile.py): only this device's, only sessions the agent does not
know, each process counted once. Real processes; the end-to-end case (an agent
SIGKILLed mid-session and started again) is in tests/agent/test_crash.py."""

from __future__ import annotations

import os
import subprocess
import time

from porthole.agent import killtree, reconcile


def spawn_marked(device_id: str, session_id: str, script: str) -> subprocess.Popen:
    env = {**os.environ, **reconcile.mark(device_id, session_id)}
    p = subprocess.Popen(["sh", "-c", script], env=env, start_new_session=True)
    deadline = time.monotonic() + 5
    while len(killtree.session_members(p.pid)) < script.count("sleep") + 1:  # the shell and its sleeps
        assert time.monotonic() < deadline, "the test shell did not start its children"
        time.sleep(0.02)
    return p


def alive(pid: int) -> bool:
    return killtree.start_time(pid) is not None


def test_leftover_sessions_of_this_device_are_killed_and_counted():
    old = spawn_marked("edge-r", "s_old", "sleep 1051 & sleep 1052 & wait")
    known = spawn_marked("edge-r", "s_live", "sleep 1053 & wait")
    other = spawn_marked("edge-other", "s_old", "sleep 1054 & wait")
    try:
        old_members = killtree.session_members(old.pid)
        assert reconcile.find("edge-r", {"s_live"}).keys() == {"s_old"}

        out = reconcile.reconcile("edge-r", {"s_live"})

        assert out == [reconcile.Leftover("s_old", len(old_members))] and len(old_members) == 3
        old.wait(timeout=5)
        time.sleep(0.1)
        assert not [p for p in old_members if alive(p)]
        # A session the agent knows, and another device's, are untouched.
        assert alive(known.pid) and alive(other.pid)
        assert reconcile.reconcile("edge-r", {"s_live"}) == []
    finally:
        for p in (old, known, other):
            killtree.kill_session(p.pid)
            p.wait(timeout=5)


def test_mark_is_device_and_session():
    assert reconcile.mark("edge-1", "s_abc") == {"PORTHOLE_SESSION": "edge-1/s_abc"}
