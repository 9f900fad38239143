"""Terminal sessions through the real agent, real porthole-core and a real
Docker Engine, with aiortc as the remote peer."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time

import pytest

from tests.support.rtc_client import TerminalClient


async def wait_target(agent, name: str, present: bool = True, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while (name in {t["id"] for t in agent.hub.inventory}) != present:
            agent.hub.inventory_changed.clear()
            await agent.hub.inventory_changed.wait()


def extra_processes(container) -> list[str]:
    """Processes in the container other than its main one (pid 1 inside)."""
    top = container.top(ps_args="-eo pid,ppid,args")
    procs = top.get("Processes") or []
    main_pid = str(container.attrs["State"]["Pid"])
    return [" ".join(p) for p in procs if p[0] != main_pid]


async def wait_no_extra_processes(container, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        container.reload()
        if not extra_processes(container):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"processes left in {container.name}: {extra_processes(container)}")


async def wait_processes(container, *commands: str, timeout: float = 15.0) -> None:
    """Waits until every command runs in the container (a loaded machine starts them late)."""
    deadline = time.monotonic() + timeout
    while True:
        running = " ".join(extra_processes(container))
        if all(cmd in running for cmd in commands):
            return
        assert time.monotonic() < deadline, f"{commands} not running in {container.name}: {running}"
        await asyncio.sleep(0.1)


def exec_ids(container) -> list[str]:
    container.reload()
    return container.attrs.get("ExecIDs") or []


async def test_command_resize_and_exit_code(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name, cols=100, rows=30)

    client.type("echo hello-$((6*7))\r")
    await client.wait_output("hello-42")
    client.type("stty size\r")
    await client.wait_output("30 100")

    client.resize(132, 43)
    await asyncio.sleep(
        0.3
    )  # the resize and the next keystrokes travel on one ordered channel, but resize is an API call
    client.type("stty size\r")
    await client.wait_output("43 132")

    client.type("exit 3\r")
    async with asyncio.timeout(15):
        assert await client.exit_code == 3
    bye = await agent.hub.wait_event(sid, "webrtc:disconnect")
    assert bye["reason"] == "exit"
    await wait_no_extra_processes(c)
    audit = [
        json.loads(line.split("porthole.audit: ", 1)[1])
        for line in agent.log().splitlines()
        if "porthole.audit: " in line
    ]
    mine = {a["event"]: a for a in audit if a.get("session_id") == sid}
    assert {"session.requested", "session.started", "session.resized", "session.ended"} <= set(mine), mine
    assert mine["session.ended"]["reason"] == "exit" and mine["session.ended"]["exit_code"] == 3
    assert mine["session.ended"]["user"] == "alice" and mine["session.ended"]["target"] == c.name


async def test_utf8_in_json_mode_and_raw_bytes_in_binary_mode(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    _, text_client = await agent.open_terminal(c.name)
    text_client.type("printf 'A\\303\\251\\342\\202\\254Z\\n'\r")
    await text_client.wait_output("Aé€Z")

    _, bin_client = await agent.open_terminal(c.name, binary=True)
    bin_client.type("printf 'X\\377\\376Y\\n'\r")
    await bin_client.wait_for(lambda: b"X\xff\xfeY" in bin_client.output)


@pytest.mark.parametrize(
    "case,expected",
    [
        ("bad_signature", "grant_invalid"),
        ("expired", "grant_expired"),
        ("other_device", "grant_wrong_device"),
        ("unknown_container", "target_not_found"),
        ("other_session", "grant_invalid"),
        ("garbage", "grant_invalid"),
        ("no_grant", "grant_invalid"),
        ("not_allowed", "target_denied"),
        ("root_asked", "root_denied"),
        ("user_asked", "user_denied"),
        ("shell_asked", "shell_denied"),
        ("env_asked", "env_denied"),
    ],
)
async def test_refused_grants_create_nothing(agent, make_container, case, expected):
    """The agent side of the authorization matrix (the server side: tests/server/test_audit.py):
    each refusal has its own code, is audited, and no exec is created."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from porthole import grant as grants

    c = make_container()
    await wait_target(agent, c.name)
    client = TerminalClient()
    sid, token = agent.sign(c.name)
    extra: dict = {}
    if case == "bad_signature":
        token = grants.sign(
            Ed25519PrivateKey.generate(),
            session_id=sid,
            user="alice",
            org="acme",
            device_id=agent.device_id,
            target_id=c.name,
        )
    elif case == "expired":
        _, token = agent.sign(c.name, session_id=sid, now=time.time() - 3600)
    elif case == "other_device":
        _, token = agent.sign(c.name, session_id=sid, device_id="edge-other")
    elif case == "unknown_container":
        _, token = agent.sign("porthole-test-does-not-exist", session_id=sid)
    elif case == "other_session":
        _, token = agent.sign(c.name)  # a valid grant, but for a different session id
    elif case == "garbage":
        token = "not.a.jwt"
    elif case == "no_grant":
        token = None
    elif case == "not_allowed":  # running, but its name is not in targets.containers
        c = make_container(name=f"porthole-other-{sid[-6:].lower().replace('_', 'x').replace('-', 'y')}")
        _, token = agent.sign(c.name, session_id=sid)
    elif case == "root_asked":
        extra = {"user": "root"}
    elif case == "user_asked":
        extra = {"user": "operator"}
    elif case == "shell_asked":
        extra = {"shell": "bash"}
    elif case == "env_asked":
        extra = {"env": {"LD_PRELOAD": "/tmp/evil.so"}}
    agent.clients.append(client)
    await agent.hub.send(
        "webrtc:offer",
        {
            "session_id": sid,
            "type": "offer",
            "sdp": await client.offer(),
            "grant": token,
            "cols": 80,
            "rows": 24,
            **extra,
        },
    )
    err = await agent.hub.wait_event(sid, "webrtc:error")
    assert err["code"] == expected, err
    assert err["message"]
    assert not agent.hub.got(sid, "webrtc:answer")
    assert exec_ids(c) == []
    denied = [a for a in audit_records(agent) if a["event"] == "session.denied" and a.get("session_id") == sid]
    assert len(denied) == 1, audit_records(agent)
    assert denied[0]["code"] == expected and denied[0]["ok"] is False and denied[0]["event_code"] == "PA1004"
    if case in ("bad_signature", "expired", "other_device"):
        assert denied[0]["claimed_user"] == "alice", denied[0]  # a bad grant: who it claims to be
    elif case not in ("garbage", "no_grant"):
        assert denied[0]["user"] == "alice", denied[0]  # a good grant: who it is, verified


def audit_records(agent) -> list[dict]:
    """The agent's audit file (the default sink, audit.jsonl next to its config)."""
    path = agent.log_path.parent / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


async def test_replayed_grant_is_refused(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    sid, token = agent.sign(c.name)
    first = TerminalClient()
    await agent.offer(first, sid, token)
    await agent.hub.wait_event(sid, "webrtc:answer")
    second = TerminalClient()
    await agent.offer(second, sid, token)
    err = await agent.hub.wait_event(sid, "webrtc:error")
    assert err["code"] == "grant_replayed"
    assert exec_ids(c) == []  # the first offer never opened its channel: no exec either
    denied = [a for a in audit_records(agent) if a["event"] == "session.denied" and a.get("session_id") == sid]
    assert [d["code"] for d in denied] == ["grant_replayed"] and denied[0]["user"] == "alice"


async def test_bad_messages_and_bad_sdp_leave_other_sessions_alone(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    _, bystander = await agent.open_terminal(c.name)
    _, client = await agent.open_terminal(c.name)

    client.send_raw("{not json")
    err = await client.wait_message("error")
    assert err["code"] == "bad_message"
    n = len(client.messages)
    client.send_json({"type": "resize", "cols": "wide", "rows": -1})
    assert (await client.wait_message("error", start=n))["code"] == "bad_message"
    n = len(client.messages)
    client.send_json({"type": "input", "data": "x" * (100 * 1024)})
    assert (await client.wait_message("error", start=n))["code"] == "message_too_large"

    bad = TerminalClient()
    sid, token = agent.sign(c.name)
    await agent.offer(bad, sid, token, sdp="v=0\r\nthis is not sdp\r\n")
    assert (await agent.hub.wait_event(sid, "webrtc:error"))["code"] == "bad_sdp"

    # Both sessions still work.
    client.type("echo still-$((1+1))\r")
    await client.wait_output("still-2")
    bystander.type("echo bystander-ok\r")
    await bystander.wait_output("bystander-ok")
    n = len(client.messages)
    client.send_json({"type": "ping"})
    await client.wait_message("pong", start=n)


@pytest.mark.parametrize("how", ["peer_connection_closed", "signaling_disconnect", "close_message"])
async def test_dropped_session_leaves_no_process(agent, make_container, how):
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name)
    # A background job in its own process group and a foreground job.
    client.type("sleep 1001 & sleep 1002\r")
    await wait_processes(c, "sleep 1001", "sleep 1002")

    if how == "peer_connection_closed":
        await client.close()
    elif how == "signaling_disconnect":
        await agent.hub.send("webrtc:disconnect", {"session_id": sid, "reason": "client_gone"})
    else:
        client.send_json({"type": "close"})
    await wait_no_extra_processes(c)


async def test_agent_shutdown_kills_sessions(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    _, client = await agent.open_terminal(c.name)
    client.type("sleep 1003\r")
    await wait_processes(c, "sleep 1003")
    agent.proc.terminate()
    await asyncio.wait_for(asyncio.to_thread(agent.proc.wait), 20)
    assert agent.proc.returncode == 0, agent.log()[-2000:]
    await wait_no_extra_processes(c, timeout=5)
    # The sidecar it launched is gone too.
    m = re.search(r"sidecar ready pid=(\d+)", agent.log())
    assert m, agent.log()[-2000:]
    assert not os.path.exists(f"/proc/{m.group(1)}"), "porthole-core outlived its agent"


async def test_container_gone_is_reported(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    c.remove(force=True)
    await wait_target(agent, c.name, present=False)
    client = TerminalClient()
    sid, token = agent.sign(c.name)
    await agent.offer(client, sid, token)
    assert (await agent.hub.wait_event(sid, "webrtc:error"))["code"] == "target_not_found"
