"""Several viewers of one display (issue 15 §1; docs/protocol.md §2f): the owner of a
screen session invites a colleague, who joins with a view-only screen session of the
same display (its own capture and peer connection): it gets video, its input is
refused (input_not_allowed), the join is audited, and it ends with the owner's
session (share_ended). Real server, agent, porthole-core, Xvfb and aiortc."""

from __future__ import annotations

import asyncio
import secrets

from porthole.server import passwords
from tests.screen.conftest import SCREEN_ID
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


async def test_a_colleague_watches_the_same_display(tmp_path, xvfb):
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

        # Handing over a screen's control is not supported: a clear refusal.
        ack = await owner.sio.call("share:control", {"session_id": owner.id, "to": guest.id}, namespace="/client")
        assert not ack["ok"] and ack["error"]["code"] == "share_not_found", ack

        await owner.close()  # the owner leaves: its viewers' sessions end too
        err = await asyncio.wait_for(guest.errors.get(), 30)
        assert err["code"] == "share_ended", err
        await st.wait_audit("session.left", session_id=guest.id, source="agent", reason="share_ended")
        await guest.close()
    finally:
        await st.stop()
