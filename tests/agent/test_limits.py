"""Resource abuse in one session stays in its container: a fork bomb meets the
container's pids limit, a memory hog its memory limit, and other sessions,
the agent and its sidecar go on. Closing the bomb's session kills every fork."""

from __future__ import annotations

from tests.agent.test_terminal import extra_processes, wait_no_extra_processes, wait_target

PIDS_LIMIT = 48
MEM_LIMIT = "48m"


async def test_fork_bomb_and_memory_hog_are_contained(agent, make_container):
    bomb_box = make_container(pids_limit=PIDS_LIMIT)
    hog_box = make_container(mem_limit=MEM_LIMIT, memswap_limit=MEM_LIMIT)
    other_box = make_container()
    for c in (bomb_box, hog_box, other_box):
        await wait_target(agent, c.name)
    bomb_sid, bomb = await agent.open_terminal(bomb_box.name)
    _, hog = await agent.open_terminal(hog_box.name)
    _, other = await agent.open_terminal(other_box.name)

    bomb.type("b(){ b|b& }; b\r")
    # ash reports the refused fork; the limit, not the machine, stopped it.
    await bomb.wait_output("can't fork", timeout=60)
    bomb_box.reload()
    assert len(extra_processes(bomb_box)) <= PIDS_LIMIT

    # 128 MiB in one buffer in a 48 MiB container: the kernel kills dd, not the shell.
    hog.type("dd if=/dev/zero of=/dev/null bs=128M count=1; echo hog-rc=$?\r")
    await hog.wait_output("hog-rc=137", timeout=60)
    hog.type("echo hog-shell-alive\r")
    await hog.wait_output("hog-shell-alive")

    # Meanwhile the other session, and new sessions, work.
    other.type("echo other-$((20+22))\r")
    await other.wait_output("other-42")
    _, fresh = await agent.open_terminal(other_box.name)
    fresh.type("echo fresh-ok\r")
    await fresh.wait_output("fresh-ok")

    # Ending the bomb's session kills all of it.
    bomb.send_json({"type": "close"})
    await agent.hub.wait_event(bomb_sid, "webrtc:disconnect", timeout=30)
    await wait_no_extra_processes(bomb_box, timeout=30)
    assert agent.proc.poll() is None
