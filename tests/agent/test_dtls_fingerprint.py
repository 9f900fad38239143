"""A DTLS fingerprint rewritten on the signaling path fails the connection
(issue 14, "tests the suite still lacks"): the signaling server (or anyone on
its path) relays the SDP, and only the fingerprint in it binds the peer's
certificate. A man in the middle who swaps it for its own must not get a
session. Real agent, porthole-core (pion) and container, aiortc as the client:
- the offer's fingerprint rewritten on its way to the device: porthole-core
  refuses the client's certificate, the session ends, no exec is created;
- the answer's fingerprint rewritten on its way to the client: aiortc refuses
  the device's certificate, no channel opens, no exec is created."""

from __future__ import annotations

import asyncio
import re

from tests.agent.test_terminal import exec_ids, extra_processes, wait_target
from tests.support.rtc_client import TerminalClient

FINGERPRINT = re.compile(r"^(a=fingerprint:sha-256 )([0-9A-Fa-f]{2})", re.M)


def rewrite_fingerprint(sdp: str) -> str:
    """The same SDP with the first byte of its sha-256 fingerprint changed (another certificate)."""
    m = FINGERPRINT.search(sdp)
    assert m, sdp
    flipped = f"{int(m.group(2), 16) ^ 0xFF:02X}"
    out = FINGERPRINT.sub(lambda mm: mm.group(1) + flipped, sdp)
    assert out != sdp
    return out


async def test_a_rewritten_offer_fingerprint_gets_no_session(agent, make_container) -> None:
    c = make_container()
    await wait_target(agent, c.name)
    client = TerminalClient()
    sid, token = agent.sign(c.name)
    await agent.offer(client, sid, token, sdp=rewrite_fingerprint(await client.offer()))
    answer = await agent.hub.wait_event(sid, "webrtc:answer", timeout=15)
    await client.accept(answer["sdp"])
    # porthole-core's DTLS refuses the certificate: the device ends the session.
    async with asyncio.timeout(60):
        while not (agent.hub.got(sid, "webrtc:error") or agent.hub.got(sid, "webrtc:disconnect")):
            await asyncio.sleep(0.2)
    assert not client.opened.is_set(), "the channel opened with a rewritten fingerprint"
    assert exec_ids(c) == [] and extra_processes(c) == []
    ended = agent.hub.got(sid, "webrtc:error") + agent.hub.got(sid, "webrtc:disconnect")
    assert ended and all(e.get("code") == "ice_failed" or e.get("reason") for e in ended), ended
    # pion says why (porthole-core logs to the agent's log).
    assert "fingerprint" in agent.log().lower(), agent.log()[-3000:]


async def test_a_rewritten_answer_fingerprint_gets_no_session(agent, make_container) -> None:
    c = make_container()
    await wait_target(agent, c.name)
    client = TerminalClient()
    sid, token = agent.sign(c.name)
    await agent.offer(client, sid, token)
    answer = await agent.hub.wait_event(sid, "webrtc:answer", timeout=15)
    await client.accept(rewrite_fingerprint(answer["sdp"]))
    # aiortc's DTLS refuses the device's certificate.
    async with asyncio.timeout(60):
        while client.pc.connectionState != "failed":
            await asyncio.sleep(0.2)
    assert not client.opened.is_set()
    assert exec_ids(c) == [] and extra_processes(c) == []
    await agent.hub.send("webrtc:disconnect", {"session_id": sid, "reason": "user_closed"})
