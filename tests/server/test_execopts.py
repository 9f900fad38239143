"""session:open's optional exec choices (shell, user, env) are checked for
shape and passed on in the offer; the agent decides (tests/agent/test_policy.py)."""

from __future__ import annotations

import pytest

from .conftest import OFFER_SDP, Env, open_session


async def test_exec_choices_reach_the_agent_in_the_offer(env: Env) -> None:
    agent = await env.agent("edge-1")
    op = await env.client("operator")
    ack = await open_session(op, shell="bash", user="operator", env={"LANG": "C.UTF-8"})
    assert ack["ok"], ack
    assert (await op.call("webrtc:offer", {"session_id": ack["session_id"], "type": "offer", "sdp": OFFER_SDP}))["ok"]
    offer = await agent.next("webrtc:offer")
    assert (offer["shell"], offer["user"], offer["env"]) == ("bash", "operator", {"LANG": "C.UTF-8"})

    plain = await open_session(op)
    await op.call("webrtc:offer", {"session_id": plain["session_id"], "type": "offer", "sdp": OFFER_SDP})
    offer = await agent.next("webrtc:offer")
    assert not {"shell", "user", "env"} & set(offer)


@pytest.mark.parametrize(
    "extra",
    [
        {"shell": "/bin/bash -c id"},
        {"shell": 7},
        {"user": "root; id"},
        {"env": ["LANG"]},
        {"env": {"LANG": 1}},
        {"env": {"BAD NAME": "x"}},
        {"env": {f"V{i}": "x" for i in range(17)}},
    ],
)
async def test_malformed_exec_choices_are_bad_requests(env: Env, extra) -> None:
    await env.agent("edge-1")
    op = await env.client("operator")
    ack = await open_session(op, **extra)
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
