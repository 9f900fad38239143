"""`agent:turn_check` (docs/protocol.md §3): a short-lived TURN credential for
a device's own allocation test, minted for `<device id>.doctor`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from porthole.server import ice

from .conftest import TURN_SECRET, Env


async def test_turn_check_mints_a_short_credential_for_the_device(env: Env) -> None:
    agent = await env.agent("edge-1")
    ack = await agent.call("agent:turn_check", {})
    assert ack["ok"] is True, ack
    (server,) = ack["ice_servers"]
    assert server["urls"] == ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]
    expiry, who = server["username"].split(":", 1)
    assert who == "edge-1" + ice.DOCTOR_SUFFIX
    assert time.time() < int(expiry) <= time.time() + ice.DOCTOR_TTL_S + 1
    mac = hmac.new(TURN_SECRET.encode(), server["username"].encode(), hashlib.sha1).digest()
    assert server["credential"] == base64.b64encode(mac).decode()


async def test_turn_check_refuses_a_payload_that_is_not_an_object(env: Env) -> None:
    agent = await env.agent("edge-1")
    ack = await agent.call("agent:turn_check", "please")
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
