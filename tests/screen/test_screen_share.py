"""Several viewers of one display (issue 15 §1; docs/protocol.md §2f): the owner of a
screen session invites a colleague, who joins with a view-only screen session of the
same display (its own capture and peer connection): it gets video, its input is
refused (input_not_allowed) until the owner hands it control; then its input reaches
the X server and the owner's is refused (audited), until the owner takes control
back. The join and the handoffs are audited, and it ends with the owner's session
(share_ended). Real server, agent, porthole-core, Xvfb and aiortc."""

from __future__ import annotations

import asyncio
import secrets

from porthole.server import passwords
from tests.screen.client import ScreenClient
from tests.screen.conftest import SCREEN_ID, pointer
from tests.support.fullstack import start_stack
from tests.support.product_client import login, open_screen

PW = secrets.token_urlsafe(18)
USERS = f"""
[[users]]
name = "colleague"
org = "demo"
password_hash = "{passwords.hash_password(PW, n=2**8)}"

[[users.grants]]
devices = ["*"]
targets = ["*"]
kinds = ["screen"]
mode = "view"
"""


async def send_input(client: ScreenClient, msg: dict) -> dict:
    """msg then a ping: the first reply (an error for msg, or the ping's pong once msg was injected)."""
    n = len(client.replies)
    client.send(msg)
    client.send({"type": "ping"})
    return await client.reply(n)


async def test_a_colleague_watches_the_same_display_and_gets_control(tmp_path, xvfb):
    st = await start_stack(
        tmp_path,
        targets="[targets]\ndocker = false\n",
        server_extra=USERS,
        agent_extra=f'\n[[screens]]\nid = "{SCREEN_ID}"\nname = "Test desk"\ndisplay = "{xvfb.display}"\n',
    )
    (tmp_path / "colleague.password").write_text(PW)  # the secrets scan looks for it
    try:
        owner_tok = await login(st.url, st.username, st.password)
        owner = await open_screen(st.url, owner_tok, st.device_id, SCREEN_ID)
        ack = await owner.sio.call("share:invite", {"session_id": owner.id, "user": "colleague"}, namespace="/client")
        assert ack["ok"], ack
        guest_tok = await login(st.url, "colleague", PW)
        guest = await open_screen(
            st.url, guest_tok, st.device_id, SCREEN_ID, extra={"join": {"session_id": owner.id, "token": ack["token"]}}
        )
        assert guest.ack["mode"] == "view"
        await guest.client.wait_for(lambda: guest.client.frames > 3, what="video on the viewer")
        await owner.client.wait_for(lambda: owner.client.frames > 3, what="video on the owner")
        guest.client.send({"type": "move", "x": 10, "y": 10})
        reply = await guest.client.reply(0)
        assert reply.get("code") == "input_not_allowed", reply
        await st.wait_audit("session.joined", session_id=guest.id, source="agent", owner_session=owner.id)

        # Handoff: the viewer's input reaches X, the owner's is refused (and audited).
        ack = await owner.sio.call("share:control", {"session_id": owner.id, "to": guest.id}, namespace="/client")
        assert ack["ok"] and ack["controller"] == guest.id, ack
        before = pointer(xvfb)
        assert await send_input(guest.client, {"type": "move", "x": 100, "y": 50}) == {"type": "pong"}
        moved = pointer(xvfb)
        assert moved != before, "the viewer in control did not move the pointer"
        refused = await send_input(owner.client, {"type": "move", "x": 300, "y": 150})
        assert refused.get("code") == "input_not_allowed", refused
        assert pointer(xvfb) == moved, "the owner without control moved the pointer"
        await st.wait_audit("session.control", session_id=owner.id, source="agent", to_session=guest.id)
        await st.wait_audit("session.input_denied", session_id=owner.id, source="agent", controller=guest.id)

        # Take back: the owner's input reaches X again, the viewer's no longer does.
        ack = await owner.sio.call("share:control", {"session_id": owner.id, "to": None}, namespace="/client")
        assert ack["ok"] and ack["controller"] is None, ack
        assert await send_input(owner.client, {"type": "move", "x": 300, "y": 150}) == {"type": "pong"}
        back = pointer(xvfb)
        assert back != moved, "the owner did not get control back"
        refused = await send_input(guest.client, {"type": "move", "x": 10, "y": 10})
        assert refused.get("code") == "input_not_allowed", refused
        assert pointer(xvfb) == back, "the viewer moved the pointer after control was taken back"
        await st.wait_audit("session.control", session_id=owner.id, source="agent", taken_back=True)

        await owner.close()  # the owner leaves: its viewers' sessions end too
        err = await asyncio.wait_for(guest.errors.get(), 30)
        assert err["code"] == "share_ended", err
        await st.wait_audit("session.left", session_id=guest.id, source="agent", reason="share_ended")
        await guest.close()
        # Each one's refused input, in its session.ended: the owner's while the guest had control, the guest's without.
        ended = await st.wait_audit("session.ended", session_id=owner.id, source="agent")
        assert ended.get("input_refused", 0) >= 1, ended
        ended = await st.wait_audit("session.ended", session_id=guest.id, source="agent")
        assert ended.get("input_refused", 0) >= 2, ended
    finally:
        await st.stop()
