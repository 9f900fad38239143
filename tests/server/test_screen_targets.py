"""The server lists screen targets and opens them only as screens (and
containers only as terminals), with the user's mode in the grant."""

from __future__ import annotations

from porthole import grant
from .conftest import OFFER_SDP, Env, open_session

TARGETS = [
    {"id": "historian", "kind": "container"},
    {"id": "desk", "name": "Lab desk", "kind": "screen", "label": "Lab desk (X display :99)", "state": "running"},
]


async def test_screen_targets_open_as_screens_only(env: Env) -> None:
    agent = await env.agent("edge-1", targets=TARGETS)
    viewer = await env.client("viewer")  # every target and kind of edge-1, view only
    devices = (await viewer.call("devices:list"))["devices"]
    listed = {t["id"]: t for t in next(d for d in devices if d["id"] == "edge-1")["targets"]}
    assert listed["desk"]["kind"] == "screen" and listed["desk"]["label"] == "Lab desk (X display :99)"

    for target, kind in (("desk", "terminal"), ("historian", "screen")):
        ack = await open_session(viewer, "edge-1", target, kind=kind)
        assert ack["ok"] is False and ack["error"]["code"] == "bad_request", (target, kind, ack)

    ack = await open_session(viewer, "edge-1", "desk", kind="screen")
    assert ack["ok"] and ack["mode"] == "view", ack
    await viewer.call("webrtc:offer", {"session_id": ack["session_id"], "type": "offer", "sdp": OFFER_SDP})
    offer = await agent.next("webrtc:offer")
    g = grant.verify(offer["grant"], grant.load_public_key(env.config_path.parent / "key.pub.pem"), device_id="edge-1")
    assert (g.target_id, g.kind, g.mode) == ("desk", "screen", "view")
