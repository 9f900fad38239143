"""An agent that dies without ending its sessions (SIGKILL) leaves shells running
in the containers: Docker never kills an exec's processes. The next start finds
them by their mark and kills them, and audits each session as ended with reason
agent_restarted and the number of processes it killed."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys

from tests.agent.test_terminal import extra_processes, wait_no_extra_processes, wait_processes, wait_target
from tests.support.stack import AGENT_START_TIMEOUT_S, REPO


def audit_records(log: str) -> list[dict]:
    return [json.loads(line.split("porthole.audit: ", 1)[1]) for line in log.splitlines() if "porthole.audit: " in line]


async def test_shells_of_a_killed_agent_are_killed_at_its_next_start(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name)
    # SIGHUP ignored: when porthole-core follows the agent out, the exec's stream closes and
    # its PTY hangs up; the shell and both sleeps must still be there for the next start to kill.
    client.type("trap '' HUP; sleep 1061 & sleep 1062\r")
    await wait_processes(c, "sleep 1061", "sleep 1062")

    agent.proc.send_signal(signal.SIGKILL)
    await asyncio.to_thread(agent.proc.wait)
    await asyncio.sleep(1)
    assert any("sleep 1061" in p for p in extra_processes(c)), "the shell died with the agent: nothing to test"

    # The same agent (same config, same device) starts again.
    cfg = agent.log_path.parent / "agent.toml"
    agent.hub.connected.clear()
    with agent.log_path.open("ab") as out:
        agent.proc = subprocess.Popen(
            [sys.executable, "-m", "porthole", "agent", "--config", str(cfg)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
    async with asyncio.timeout(AGENT_START_TIMEOUT_S):
        await agent.hub.connected.wait()
    await wait_no_extra_processes(c, timeout=20)
    ended = [r for r in audit_records(agent.log()) if r["event"] == "session.ended" and r.get("session_id") == sid]
    assert [(r["reason"], r["killed"]) for r in ended] == [("agent_restarted", 3)], ended  # shell + 2 sleeps
    await client.close()
