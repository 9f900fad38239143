"""A shared terminal across a signaling server restart (issue 15 §1): the real server
(stopped as a deploy stops it and started again: its store forgets every session), the
real agent, porthole-core and Docker, two users on aiortc. Viewing and typing go peer
to peer and never stop; once the device re-announced its sessions and both clients
rebound theirs, the share works as before: the viewer asks for control (the server
asks the device which session it watches), the owner hands control over and takes it
back, and every participant gets `share:state`."""

from __future__ import annotations

import asyncio

import socketio

from tests.e2e.test_shared_session import COLLEAGUE_PW, OUTSIDER_PW, USERS, call, echo, join
from tests.support.fullstack import start_stack
from tests.support.product_client import login, open_terminal, rebind


def collect(sio: socketio.AsyncClient, event: str) -> list[dict]:
    got: list[dict] = []
    sio.on(event, got.append, namespace="/client")
    return got


async def until(pred, what: str, timeout: float = 20) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not pred():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"no {what} within {timeout} s") from None


async def test_share_request_and_handoff_after_a_server_restart(tmp_path, make_container):
    st = await start_stack(tmp_path, server_extra=USERS)
    (tmp_path / "colleague.password").write_text(COLLEAGUE_PW)
    (tmp_path / "outsider.password").write_text(OUTSIDER_PW)
    try:
        c = make_container()
        owner_tok = await login(st.url, st.username, st.password)
        colleague_tok = await login(st.url, "colleague", COLLEAGUE_PW)
        owner = await open_terminal(st.url, owner_tok, st.device_id, c.name)
        ack = await call(owner.sio, "share:invite", {"session_id": owner.id, "user": "colleague"})
        assert ack["ok"], ack
        viewer = await join(st, colleague_tok, c.name, owner.id, ack["token"])
        await echo(owner.client, viewer.client, "before-restart")

        await st.stop_server()
        await echo(owner.client, viewer.client, "while-down")  # peer to peer: no server needed
        await st.start_server()
        assert (await rebind(owner, st.url, owner_tok))[-1] == "rebound"
        assert (await rebind(viewer, st.url, colleague_tok))[-1] == "rebound"
        await st.wait_audit("session.rerouted", session_id=viewer.id, source="server", restored=True)

        # The viewer asks for control: the restarted server learns from the device whom to tell.
        requested = collect(owner.sio, "share:control_requested")
        owner_states, viewer_states = collect(owner.sio, "share:state"), collect(viewer.sio, "share:state")
        ack = await call(viewer.sio, "share:request", {"session_id": viewer.id})
        assert ack["ok"], ack
        await until(lambda: requested, "share:control_requested on the owner's new socket")
        assert requested[0]["session_id"] == owner.id and requested[0]["viewer_session_id"] == viewer.id
        assert requested[0]["user"] == "colleague", requested

        # Handoff and take back, as before the restart.
        ack = await call(owner.sio, "share:control", {"session_id": owner.id, "to": viewer.id})
        assert ack["ok"] and ack["controller"] == viewer.id, ack
        await echo(viewer.client, owner.client, "viewer-in-control")
        await until(lambda: any(s["controller"] == viewer.id for s in viewer_states), "share:state to the viewer")
        await until(lambda: any(s["controller"] == viewer.id for s in owner_states), "share:state to the owner")
        people = {p["user"]: p["role"] for p in viewer_states[-1]["participants"]}
        assert people == {st.username: "owner", "colleague": "viewer"}, viewer_states[-1]
        ack = await call(owner.sio, "share:control", {"session_id": owner.id, "to": None})
        assert ack["ok"] and ack["controller"] is None, ack
        await echo(owner.client, viewer.client, "owner-took-back")

        # A session that watches nothing has no owner to ask.
        ack = await call(owner.sio, "share:request", {"session_id": owner.id})
        assert not ack["ok"] and ack["error"]["code"] == "share_not_found", ack
        await viewer.close()
        await owner.close()
    finally:
        await st.stop()
