"""The server lists screen targets and opens a screen target only as a
screen (its positive path, with a user granted kind "screen", runs end to end
in tests/screen/test_screen_browser.py)."""

from __future__ import annotations

from .conftest import Env, open_session

TARGETS = [
    {"id": "historian", "kind": "container"},
    {"id": "desk", "name": "Lab desk", "kind": "screen", "label": "Lab desk (X display :99)", "state": "running"},
]


async def test_screen_target_listed_and_not_opened_as_terminal(env: Env) -> None:
    await env.agent("edge-1", targets=TARGETS)
    viewer = await env.client("viewer")  # terminal on every target of edge-1, view only
    devices = (await viewer.call("devices:list"))["devices"]
    listed = {t["id"]: t for t in next(d for d in devices if d["id"] == "edge-1")["targets"]}
    assert listed["desk"]["kind"] == "screen" and listed["desk"]["label"] == "Lab desk (X display :99)"

    ack = await open_session(viewer, "edge-1", "desk", kind="terminal")
    assert ack["ok"] is False and ack["error"]["code"] == "bad_request", ack
    assert "cannot be opened as a terminal" in ack["error"]["message"]
    # Authorization comes first: no grant of kind screen is `denied`, whatever the target.
    ack = await open_session(viewer, "edge-1", "historian", kind="screen")
    assert ack["ok"] is False and ack["error"]["code"] == "denied", ack
    assert (await open_session(viewer, "edge-1", "historian"))["ok"] is True
