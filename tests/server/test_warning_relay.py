"""The idle warning's signaling (docs/protocol.md §2, §3): a device's
`session:warning` reaches the session's client rebuilt from checked fields;
a client's `session:extend` reaches the session's device, whose answer is the
client's ack. Nobody else's session is reachable either way."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from porthole.server import client_ns

from .conftest import Env
from .test_relay import err, started

WARNING = {"reason": "idle_timeout", "ends_in_s": 42.5, "extendable": True, "message": "the session ends in 42 s"}


async def test_a_warning_reaches_the_sessions_client(env: Env) -> None:
    client, agent, sid = await started(env)
    assert await agent.call("session:warning", {"session_id": sid, **WARNING, "extra": "dropped"}) == {"ok": True}
    assert await client.next("session:warning") == {"session_id": sid, **WARNING}
    cleared = {"session_id": sid, "reason": "idle_timeout", "cleared": True, "ends_in_s": "ignored"}
    assert await agent.call("session:warning", cleared) == {"ok": True}
    assert await client.next("session:warning") == {"session_id": sid, "reason": "idle_timeout", "cleared": True}


@pytest.mark.parametrize(
    "bad",
    [
        {"reason": "exit"},  # not a policy end
        {"ends_in_s": "soon"},
        {"ends_in_s": -1},
        {"ends_in_s": True},
        {"ends_in_s": 1e9},
        {"extendable": "yes"},
        {"message": 5},
    ],
)
async def test_a_malformed_warning_is_refused(env: Env, bad: dict[str, Any]) -> None:
    client, agent, sid = await started(env)
    assert err(await agent.call("session:warning", {"session_id": sid, **WARNING, **bad})) == "bad_request"
    assert client.pending("session:warning") == 0


async def test_extend_asks_the_device_and_answers_with_its_ack(env: Env, monkeypatch) -> None:
    client, agent, sid = await started(env)
    answers: list[Any] = [
        {"ok": True, "idle_timeout_s": 900},
        {"ok": False, "error": {"code": "not_extendable", "message": "the session ends at its maximum length"}},
        "garbage",
    ]
    asked: list[Any] = []

    async def on_extend(data: Any) -> Any:
        asked.append(data)
        return answers.pop(0) if answers else None

    agent.sio.on("session:extend", on_extend, namespace="/agent")
    assert await client.call("session:extend", {"session_id": sid}) == {"ok": True}
    assert asked == [{"session_id": sid}]
    ack = await client.call("session:extend", {"session_id": sid})
    assert ack["error"] == {"code": "not_extendable", "message": "the session ends at its maximum length"}
    assert err(await client.call("session:extend", {"session_id": sid})) == "internal"  # a device's bad ack

    # A device that does not answer: the client is told, not left waiting.
    async def silent(data: Any) -> None:
        await asyncio.sleep(2)

    agent.sio.on("session:extend", silent, namespace="/agent")
    monkeypatch.setattr(client_ns, "EXTEND_TIMEOUT_S", 0.3)
    assert err(await client.call("session:extend", {"session_id": sid})) == "device_offline"


async def test_nobody_elses_session_is_warned_or_extended(env: Env) -> None:
    client, agent, sid = await started(env)
    other_agent = await env.agent("edge-2")
    asked: list[Any] = []

    async def on_extend(data: Any) -> dict[str, Any]:
        asked.append(data)
        return {"ok": True}

    agent.sio.on("session:extend", on_extend, namespace="/agent")
    assert err(await other_agent.call("session:warning", {"session_id": sid, **WARNING})) == "session_not_found"
    for intruder in (await env.client("operator"), await env.client("viewer")):
        assert err(await intruder.call("session:extend", {"session_id": sid})) == "session_not_found"
    assert err(await client.call("session:extend", {"session_id": "s_unknown"})) == "session_not_found"
    assert client.pending("session:warning") == 0 and asked == []
