"""Session policy on the real agent, real porthole-core and real Docker
(docs/security.md): the exec user, labels, named shells and the environment
allowlist, the sync audit sink, view-only grants, idle and maximum-length
timeouts."""

from __future__ import annotations

import asyncio
import json

from tests.agent.test_terminal import audit_records, exec_ids, wait_target
from tests.support.rtc_client import TerminalClient


async def offer_raw(agent, target: str, **extra) -> tuple[str, TerminalClient]:
    client = TerminalClient()
    agent.clients.append(client)
    sid, token = agent.sign(target, **{k: extra.pop(k) for k in ("mode",) if k in extra})
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
    return sid, client


async def open_with(agent, target: str, **extra) -> tuple[str, TerminalClient]:
    sid, client = await offer_raw(agent, target, **extra)
    try:
        answer = await agent.hub.wait_event(sid, "webrtc:answer", timeout=15)
    except TimeoutError:
        raise AssertionError(f"no answer: {agent.hub.events[sid]!r}\n{agent.log()[-2000:]}") from None
    await client.accept(answer["sdp"])
    async with asyncio.timeout(20):
        await client.opened.wait()
    return sid, client


async def test_execs_run_as_the_configured_non_root_user(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    _, client = await agent.open_terminal(c.name)
    client.type("echo uid=$(id -u):$(id -g)\r")
    await client.wait_output("uid=65534:65534")


async def test_image_default_root_user_is_refused_unless_allowed(agent_factory, make_container):
    c = make_container()
    # targets.user = "" means the image's own user: root in this image.
    strict = await agent_factory(user="")
    await wait_target(strict, c.name)
    sid, _ = await offer_raw(strict, c.name)
    assert (await strict.hub.wait_event(sid, "webrtc:error"))["code"] == "root_denied"
    assert exec_ids(c) == []
    lenient = await agent_factory(user="", extra_toml="\n[policy]\nallow_root = true\n")
    await wait_target(lenient, c.name)
    _, client = await lenient.open_terminal(c.name)
    client.type("echo uid=$(id -u)\r")
    await client.wait_output("uid=0")


async def test_labels_restrict_containers(agent_factory, make_container):
    agent = await agent_factory(extra_toml='\n[policy]\nlabels = ["porthole.access=terminal"]\n')
    plain = make_container()
    labelled = make_container(labels={"porthole.access": "terminal"})
    await wait_target(agent, labelled.name)
    assert plain.name not in {t["id"] for t in agent.hub.inventory}
    sid, _ = await offer_raw(agent, plain.name)
    assert (await agent.hub.wait_event(sid, "webrtc:error"))["code"] == "target_denied"
    assert exec_ids(plain) == []
    _, client = await agent.open_terminal(labelled.name)
    client.type("echo labelled-ok\r")
    await client.wait_output("labelled-ok")


async def test_named_shells_users_and_environment_allowlist(agent_factory, make_container):
    agent = await agent_factory(
        extra_toml="""
[policy]
users = ["operator"]
env = { PORTHOLE_SITE = "plant-7" }
env_allow = ["LANG"]

[policy.shells]
plain = ["/bin/sh", "-c", "echo shell=plain; exec sh -i"]
"""
    )
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await open_with(agent, c.name, shell="plain", user="operator", env={"LANG": "C.UTF-8"})
    await client.wait_output("shell=plain")
    client.type("echo u=$(id -un) lang=$LANG site=$PORTHOLE_SITE term=$TERM\r")
    await client.wait_output("u=operator lang=C.UTF-8 site=plant-7 term=xterm-256color")
    started = [a for a in audit_records(agent) if a["event"] == "session.started" and a["session_id"] == sid]
    assert started and started[0]["shell"] == "plain" and started[0]["exec_user"] == "operator"


async def test_sync_audit_that_cannot_write_refuses_sessions(agent_factory, make_container):
    # /dev/full fails every write (ENOSPC): a real broken sink.
    agent = await agent_factory(extra_toml='\n[audit]\nfile = "/dev/full"\nmode = "sync"\n')
    c = make_container()
    await wait_target(agent, c.name)
    sid, _ = await offer_raw(agent, c.name)
    assert (await agent.hub.wait_event(sid, "webrtc:error"))["code"] == "audit_unavailable"
    assert exec_ids(c) == []
    # The records still reach the log sink.
    assert '"event": "session.requested"' in agent.log()


async def test_async_audit_that_cannot_write_lets_sessions_go_on(agent_factory, make_container):
    agent = await agent_factory(extra_toml='\n[audit]\nfile = "/dev/full"\nmode = "async"\n')
    c = make_container()
    await wait_target(agent, c.name)
    _, client = await agent.open_terminal(c.name)
    client.type("echo async-ok\r")
    await client.wait_output("async-ok")


async def test_view_only_session_shows_output_and_ignores_input(agent, make_container):
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await open_with(agent, c.name, mode="view")
    note = await client.wait_message("error")
    assert note["code"] == "view_only", note
    # Output flows: the prompt reaches the client (then the audit below counts it).
    await client.wait_for(lambda: bool(client.output), what="the prompt")
    client.type("touch /tmp/typed-in-view-mode\r")
    client.send_json({"type": "close"})  # after the input, on the same ordered channel
    await agent.hub.wait_event(sid, "webrtc:disconnect")
    ended = [a for a in audit_records(agent) if a["event"] == "session.ended" and a["session_id"] == sid]
    assert ended and ended[0]["mode"] == "view" and ended[0]["bytes_in"] == 0 and ended[0]["input_dropped"] > 0
    assert ended[0]["bytes_out"] > 0  # the prompt: output flows
    rc = c.exec_run(["test", "-e", "/tmp/typed-in-view-mode"]).exit_code
    assert rc == 1, "input of a view-only session reached the shell"


async def test_idle_timeout_closes_an_idle_session_and_keeps_a_busy_one(agent_factory, make_container):
    agent = await agent_factory(extra_toml="\n[policy]\nidle_timeout_s = 2\n")
    c = make_container()
    await wait_target(agent, c.name)
    busy_sid, busy = await agent.open_terminal(c.name)
    busy.type("while true; do echo tick; sleep 0.5; done\r")
    await busy.wait_output("tick")
    idle_sid, idle = await agent.open_terminal(c.name)

    err = await idle.wait_message("error", timeout=20)
    assert err["code"] == "idle_timeout", err
    bye = await agent.hub.wait_event(idle_sid, "webrtc:disconnect", timeout=15)
    assert bye["reason"] == "idle_timeout"
    ended = [a for a in audit_records(agent) if a["event"] == "session.ended" and a["session_id"] == idle_sid]
    assert ended and ended[0]["reason"] == "idle_timeout"

    # The busy one outlived it by more than the timeout, and still answers.
    n = busy.text().count("tick")
    await busy.wait_for(lambda: busy.text().count("tick") >= n + 6, timeout=20)
    assert not agent.hub.got(busy_sid, "webrtc:disconnect")
    busy.type("\x03echo still-$((40+2))\r")
    await busy.wait_output("still-42")


async def test_max_session_length_ends_even_a_busy_session(agent_factory, make_container):
    agent = await agent_factory(extra_toml="\n[policy]\nmax_session_s = 3\n")
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name)
    client.type("while true; do echo tock; sleep 0.2; done\r")
    err = await client.wait_message("error", timeout=20)
    assert err["code"] == "max_duration", err
    assert (await agent.hub.wait_event(sid, "webrtc:disconnect"))["reason"] == "max_duration"
    ended = [json.dumps(a) for a in audit_records(agent) if a["event"] == "session.ended"]
    assert any('"reason": "max_duration"' in e for e in ended), ended


async def test_grant_expiry_ends_the_session_when_the_policy_says_so(agent_factory, make_container):
    agent = await agent_factory(extra_toml="\n[policy]\nend_on_grant_expiry = true\n")
    c = make_container()
    await wait_target(agent, c.name)
    client = TerminalClient()
    sid, token = agent.sign(c.name, ttl_s=4)
    await agent.offer(client, sid, token)
    answer = await agent.hub.wait_event(sid, "webrtc:answer")
    await client.accept(answer["sdp"])
    err = await client.wait_message("error", timeout=20)
    assert err["code"] == "grant_expired", err
    assert (await agent.hub.wait_event(sid, "webrtc:disconnect"))["reason"] == "grant_expired"
