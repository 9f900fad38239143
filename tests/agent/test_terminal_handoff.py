"""The terminal path through the descriptor handoff (agent/bridge.py,
handoff.py): the agent starts the shell and hands its descriptor to
porthole-core, which pumps it. Bytes the process printed before the handoff
are not lost, with a real docker exec and with the host shell; Ctrl-C gets
through a flood; a recording made on this path holds every byte shown and
plays; porthole-core killed mid-session ends the session, the shell and our
descriptors."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.agent.test_policy import open_with
from tests.agent.test_terminal import wait_no_extra_processes, wait_processes, wait_target
from tests.support.waiting import async_wait_for

# Prints at once, before the agent could hand anything over, then echoes input.
EARLY = "printf early-$((6*7))-; exec cat"


def audit(agent) -> list[dict]:
    return [
        json.loads(line.split("porthole.audit: ", 1)[1])
        for line in agent.log().splitlines()
        if "porthole.audit: " in line
    ]


def handed_over(agent, sid: str) -> bool:
    """porthole-core logged the handoff of this session's descriptor."""
    return any("descriptor handed over" in line and sid in line for line in agent.log().splitlines())


async def test_an_exec_that_prints_at_once_loses_nothing(agent_factory, make_container):
    agent = await agent_factory(extra_toml=f'\n[policy.shells]\nearly = ["/bin/sh", "-c", "{EARLY}"]\n')
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await open_with(agent, c.name, shell="early")
    await client.wait_output("early-42-")
    client.type("typed\r")
    await client.wait_output("typed")
    assert client.text().startswith("early-42-"), client.text()[:200]
    assert handed_over(agent, sid), agent.log()[-3000:]
    client.type("\x04")  # EOF: cat exits 0
    async with asyncio.timeout(15):
        assert await client.exit_code == 0
    assert (await agent.hub.wait_event(sid, "webrtc:disconnect"))["reason"] == "exit"
    await wait_no_extra_processes(c)


async def test_the_host_shell_that_prints_at_once_loses_nothing(agent_factory):
    agent = await agent_factory(host_shell=True, host_shell_command=["/bin/sh", "-c", EARLY])
    await wait_target(agent, "host")
    sid, client = await agent.open_terminal("host", cols=90, rows=20)
    await client.wait_output("early-42-")
    client.type("both ways\r")
    await client.wait_output("both ways\r\nboth ways")  # the PTY's echo, then cat's
    assert client.text().startswith("early-42-"), client.text()[:200]
    assert handed_over(agent, sid), agent.log()[-3000:]
    client.type("\x04")
    async with asyncio.timeout(15):
        assert await client.exit_code == 0
    assert (await agent.hub.wait_event(sid, "webrtc:disconnect"))["reason"] == "exit"
    ended = [a for a in audit(agent) if a["event"] == "session.ended" and a.get("session_id") == sid]
    assert ended and ended[0]["reason"] == "exit" and ended[0]["exit_code"] == 0, ended
    assert ended[0]["bytes_out"] > 0 and ended[0]["bytes_in"] > 0, ended


async def test_ctrl_c_gets_through_a_flood(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    _, client = await agent.open_terminal(c.name, binary=True)
    client.type("while :; do echo flood-flood-flood-flood; done\r")
    await client.wait_for(lambda: client.output.count(b"flood-flood") > 1000, what="a flood")
    client.type("\x03")
    client.type("echo after-$((40+2))\r")
    await client.wait_for(lambda: b"after-42" in client.output, timeout=30, what="the prompt after Ctrl-C")


async def test_ctrl_p_ctrl_q_is_input_not_docker_detach(agent, make_container):
    """Docker's default detach keys (Ctrl-P Ctrl-Q) would end the exec ("read escape
    sequence", exit 126); the agent sets others, so they reach the shell like any key."""
    c = make_container()
    await wait_target(agent, c.name)
    _sid, client = await agent.open_terminal(c.name)
    client.type("\x10\x11\x15echo still-$((6*7))\r")  # Ctrl-P, Ctrl-Q, then Ctrl-U clears the line
    await client.wait_output("still-42")


async def test_a_recording_holds_every_byte_shown_and_plays(agent_factory, make_container, tmp_path):
    rec_dir = tmp_path / "recs"
    agent = await agent_factory(
        extra_toml=f'\n[recording]\nenabled = true\ninput = true\nupload = false\ndir = "{rec_dir}"\n'
    )
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name, cols=100, rows=30)
    client.type("seq 1 20000; printf 'caf\\303\\251 \\342\\202\\254\\n'\r")
    await client.wait_output("20000")
    await client.wait_output("café €")
    client.resize(120, 40)
    await asyncio.sleep(0.3)
    client.type("stty size; exit 5\r")
    async with asyncio.timeout(15):
        assert await client.exit_code == 5
    cast = rec_dir / f"{sid}.cast"
    await async_wait_for(lambda: cast.exists() or None, 15, message="the finished recording")
    lines = cast.read_text().splitlines()
    header, events = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
    assert header["version"] == 2 and (header["width"], header["height"]) == (100, 30)
    shown = "".join(e[2] for e in events if e[1] == "o")
    assert shown == client.text(), (len(shown), len(client.text()))  # every byte shown, nothing else
    assert "40 120" in shown
    assert ["r", "120x40"] in [e[1:] for e in events]
    assert "seq 1 20000" in "".join(e[2] for e in events if e[1] == "i")
    times = [e[0] for e in events]
    assert times == sorted(times)
    # asciinema plays it back to the same output (fast: pauses capped, 100x speed).
    asciinema = Path(sys.executable).with_name("asciinema")
    out = subprocess.run(
        [str(asciinema), "play", "-i", "0.01", "-s", "100", str(cast)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.decode() == shown


def unix_sockets() -> dict[str, tuple[str, str]]:
    """Every unix stream socket the kernel shows us: inode → (peer inode, owning process)."""
    out = subprocess.run(["ss", "-xpnH", "-A", "unix_stream"], capture_output=True, text=True, check=True).stdout
    socks: dict[str, tuple[str, str]] = {}
    for line in out.splitlines():
        toks = line.split()
        owner = ""
        if toks and toks[-1].startswith("users:"):
            m = re.match(r'users:\(\("([^"]+)",pid=(\d+)', toks[-1])
            owner = f"{m.group(1)}:{m.group(2)}" if m else ""
            toks = toks[:-1]
        if len(toks) >= 6:  # state, recv-q, send-q, local, inode, peer, peer inode
            socks[toks[-3]] = (toks[-1], owner)
    return socks


def descriptors(pid: int) -> tuple[list[str], list[str], int]:
    """What the agent holds open but its connections to dockerd (docker-py's pool grows with
    concurrent calls and keeps them, so they are counted apart), the sockets whose other end
    is gone (leaks), and how many connections to dockerd it holds (the pool's, and exec streams)."""
    socks = unix_sockets()
    held, dangling, docker = [], [], 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m and m.group(1) in socks:
            peer, _ = socks[m.group(1)]
            owner = socks.get(peer, ("", ""))[1]
            if owner.startswith("dockerd:"):
                docker += 1
                continue
            if not owner and peer != "0":
                dangling.append(f"fd {fd}: {target} → {peer}")
        held.append(re.sub(r"\[\d+\]", "[]", target))  # kinds, not inode numbers
    return sorted(held), dangling, docker


def sidecar_pid(agent) -> int:
    pids = re.findall(r"sidecar ready pid=(\d+)", agent.log())
    assert pids, agent.log()[-2000:]
    return int(pids[-1])


async def test_porthole_core_killed_mid_session_ends_it_and_leaks_nothing(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    # Warm up: one session first, so lazily opened descriptors (Docker client, handoff socket) exist.
    _, warm = await agent.open_terminal(c.name)
    warm.type("exit\r")
    await warm.exit_code
    await wait_no_extra_processes(c)
    before = descriptors(agent.proc.pid)[0]

    sid, client = await agent.open_terminal(c.name)
    client.type("sleep 1071\r")
    await wait_processes(c, "sleep 1071")
    to_docker = descriptors(agent.proc.pid)[2]  # the API pool's connections and the exec's stream
    old = sidecar_pid(agent)
    os.kill(old, signal.SIGKILL)

    err = await agent.hub.wait_event(sid, "webrtc:error")
    assert err["code"] == "sidecar_unavailable", err
    assert (await agent.hub.wait_event(sid, "webrtc:disconnect"))["reason"] == "sidecar_restarted"
    await wait_no_extra_processes(c)  # the shell and its sleep are gone from `docker top`
    ended = [a for a in audit(agent) if a["event"] == "session.ended" and a.get("session_id") == sid]
    assert [e["reason"] for e in ended] == ["sidecar_restarted"], ended
    # The agent killed what was left: both, or only the sleep when the shell already ended on
    # the hangup of its stream (seen under load); nothing of either is left (above).
    assert ended[0]["killed"] >= 1, ended

    # porthole-core is back; the agent holds what it held before the session, but its
    # connection to the old porthole-core's handoff socket (made again at the next handoff).
    await async_wait_for(lambda: sidecar_pid(agent) != old or None, 30, message="porthole-core restarted")
    without_handoff = list(before)
    without_handoff.remove("socket:[]")
    await held_again(agent, without_handoff)
    # The exec's stream is closed (nothing else talks to Docker while a session ends this way).
    assert descriptors(agent.proc.pid)[2] == to_docker - 1
    # The next session works through the new porthole-core; once it ended, all is as before.
    sid, again = await agent.open_terminal(c.name)
    again.type("echo again-$((1+2)); exit\r")
    await again.wait_output("again-3")
    await agent.hub.wait_event(sid, "webrtc:disconnect")
    await held_again(agent, before)


async def held_again(agent, want: list[str]) -> None:
    try:
        await async_wait_for(lambda: descriptors(agent.proc.pid)[0] == want or None, 20)
    except AssertionError:
        raise AssertionError(f"agent descriptors: want {want}; got {descriptors(agent.proc.pid)[0]}") from None
    assert descriptors(agent.proc.pid)[1] == [], "sockets whose other end is gone"
