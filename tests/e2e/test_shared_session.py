"""Shared sessions (issue 15 §1; docs/protocol.md §2f): the real server, agent,
porthole-core and Docker, two users on aiortc. The owner of a terminal invites a
colleague, who watches the same output on a peer connection of their own; the
viewer's keys reach no shell until the owner hands control over, then the owner's
do not until it takes control back. A user who may not see the target cannot
join (share_denied), a link works once (share_used), and every join, handoff,
refusal and leave is in the audit."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal

import pytest
import socketio

from porthole.server import passwords
from tests.e2e.share_viewer import ViewerProcess
from tests.support.fullstack import start_stack
from tests.support.product_client import ProductSession, login, open_terminal
from tests.support.rtc_client import TerminalClient

COLLEAGUE_PW = secrets.token_urlsafe(18)
OUTSIDER_PW = secrets.token_urlsafe(18)

USERS = f"""
[[users]]
name = "colleague"
org = "demo"
password_hash = "{passwords.hash_password(COLLEAGUE_PW, n=2**8)}"

[[users.grants]]
devices = ["*"]
targets = ["*"]
kinds = ["terminal"]
mode = "view"

[[users]]
name = "outsider"
org = "demo"
password_hash = "{passwords.hash_password(OUTSIDER_PW, n=2**8)}"

[[users.grants]]
devices = ["*"]
targets = ["no-such-target-*"]
kinds = ["terminal"]
mode = "interactive"
"""


async def call(sio: socketio.AsyncClient, event: str, body: dict) -> dict:
    return await sio.call(event, body, namespace="/client")


async def join(st, token: str, target: str, owner_sid: str, share_token: str) -> ProductSession[TerminalClient]:
    return await open_terminal(
        st.url, token, st.device_id, target, extra={"join": {"session_id": owner_sid, "token": share_token}}
    )


async def echo(term: TerminalClient, watcher: TerminalClient, tag: str) -> None:
    """term types a command printing tag; watcher sees its output."""
    term.type(f"echo {tag[:3]}''{tag[3:]}\r")  # the echo of the line itself does not match
    await watcher.wait_output(tag)


async def test_observer_watches_gets_control_and_gives_it_back(tmp_path, make_container):
    st = await start_stack(tmp_path, server_extra=USERS)
    (tmp_path / "colleague.password").write_text(COLLEAGUE_PW)  # the secrets scan looks for these
    (tmp_path / "outsider.password").write_text(OUTSIDER_PW)
    try:
        c = make_container()
        owner_tok = await login(st.url, st.username, st.password)
        colleague_tok = await login(st.url, "colleague", COLLEAGUE_PW)
        outsider_tok = await login(st.url, "outsider", OUTSIDER_PW)
        owner = await open_terminal(st.url, owner_tok, st.device_id, c.name)
        await echo(owner.client, owner.client, "before-share")

        # The colleague's page is open: the invitation arrives there.
        inbox = socketio.AsyncClient(reconnection=False)
        invited: asyncio.Queue = asyncio.Queue()
        inbox.on("share:invited", invited.put_nowait, namespace="/client")
        await inbox.connect(st.url, namespaces=["/client"], auth={"token": colleague_tok}, transports=["websocket"])
        ack = await call(owner.sio, "share:invite", {"session_id": owner.id, "user": "colleague"})
        assert ack["ok"], ack
        note = await asyncio.wait_for(invited.get(), 15)
        assert note["session_id"] == owner.id and note["from"] == st.username and note["target_id"] == c.name

        # An invitation for a user who may not see the target is refused.
        ack = await call(owner.sio, "share:invite", {"session_id": owner.id, "user": "outsider"})
        assert not ack["ok"] and ack["error"]["code"] == "share_denied", ack

        viewer = await join(st, colleague_tok, c.name, owner.id, note["token"])
        states: list[dict] = []
        viewer.sio.on("share:state", states.append, namespace="/client")
        v = viewer.client
        # The scrollback first, then live output: the viewer sees what the owner saw.
        await v.wait_output("before-share")
        assert any(m.get("code") == "view_only" for m in v.errors), v.messages
        await echo(owner.client, v, "live-after-join")
        await st.wait_audit("session.joined", session_id=viewer.id, source="agent", owner_session=owner.id)

        # The viewer's keys reach no shell; the refusal is audited (rate limited).
        v.type("echo VIEW''ER-TYPED\r")
        await st.wait_audit("session.input_denied", session_id=viewer.id, source="agent")
        await echo(owner.client, v, "owner-still-types")
        assert "VIEWER-TYPED" not in owner.client.text()

        # Handoff: the viewer types, the owner's keys are dropped.
        ack = await call(owner.sio, "share:control", {"session_id": owner.id, "to": viewer.id})
        assert ack["ok"] and ack["controller"] == viewer.id, ack
        await echo(v, owner.client, "viewer-in-control")
        owner.client.type("echo OWN''ER-DROPPED\r")
        await echo(v, owner.client, "viewer-again")
        # The owner's own keys are refused while the viewer has control, and audited as a viewer's are.
        refused = await st.wait_audit("session.input_denied", session_id=owner.id, source="agent", controller=viewer.id)
        assert refused["code"] == "input_not_allowed" and refused["attempts"] >= 1 and not refused["ok"], refused
        async with asyncio.timeout(15):
            while not any(s.get("controller") == viewer.id for s in states):
                await asyncio.sleep(0.1)
        people = {p["user"]: p["role"] for p in states[-1]["participants"]}
        assert people == {st.username: "owner", "colleague": "viewer"}, states[-1]
        await asyncio.sleep(1)  # the owner's dropped keys are behind us before control moves back

        # Take back: the owner types again, the viewer no longer does.
        ack = await call(owner.sio, "share:control", {"session_id": owner.id, "to": None})
        assert ack["ok"] and ack["controller"] is None, ack
        await echo(owner.client, v, "owner-took-back")
        assert "OWNER-DROPPED" not in owner.client.text()
        await st.wait_audit("session.control", session_id=owner.id, source="agent", to_session=viewer.id)
        await st.wait_audit("session.control", session_id=owner.id, source="agent", taken_back=True)

        # Only the owner hands control over: the viewer's own share:control is refused.
        ack = await call(viewer.sio, "share:control", {"session_id": owner.id, "to": viewer.id})
        assert not ack["ok"] and ack["error"]["code"] == "session_not_found", ack

        # A link: a user without access to the target cannot use it; one with access can, once.
        ack = await call(owner.sio, "share:invite", {"session_id": owner.id})
        assert ack["ok"], ack
        link = ack["token"]
        outsider = socketio.AsyncClient(reconnection=False)
        await outsider.connect(st.url, namespaces=["/client"], auth={"token": outsider_tok}, transports=["websocket"])
        body = {"device_id": st.device_id, "target_id": c.name, "kind": "terminal"}
        ack = await call(outsider, "session:open", {**body, "join": {"session_id": owner.id, "token": link}})
        assert not ack["ok"] and ack["error"]["code"] == "share_denied", ack
        await outsider.disconnect()
        second = await join(st, colleague_tok, c.name, owner.id, link)
        await second.client.wait_output("owner-took-back")
        with pytest.raises(AssertionError, match="share_used"):
            await join(st, colleague_tok, c.name, owner.id, link)

        # Revoked: an invitation signed before share:revoke reaches no terminal.
        ack = await call(owner.sio, "share:invite", {"session_id": owner.id, "user": "colleague"})
        assert ack["ok"], ack
        assert (await call(owner.sio, "share:revoke", {"session_id": owner.id}))["ok"]
        revoked = await join(st, colleague_tok, c.name, owner.id, ack["token"])
        err = await asyncio.wait_for(revoked.errors.get(), 30)
        assert err["code"] == "share_revoked", err
        assert "owner-took-back" not in revoked.client.text()
        await revoked.close()
        await st.wait_audit("session.join_denied", session_id=revoked.id, source="agent", code="share_revoked")

        # The viewer leaves: audited; the owner goes on.
        await viewer.close()
        await st.wait_audit("session.left", session_id=viewer.id, source="agent")
        # Its session.ended carries the total of its refused keys (docs/security.md).
        ended = await st.wait_audit("session.ended", session_id=viewer.id, source="agent")
        assert ended.get("input_refused", 0) >= 1, ended
        await echo(owner.client, owner.client, "owner-after-leave")

        records = st.audit()
        server = {r["event"] for r in records if r["source"] == "server"}
        assert {"share.invited", "share.control", "share.denied"} <= server, server
        codes = {r["event"]: r["event_code"] for r in records}
        assert codes["session.joined"] == "PA1009" and codes["session.left"] == "PA1010"
        assert codes["session.control"] == "PA1011" and codes["share.invited"] == "PA2007"
        denied = [r for r in records if r["event"] == "session.denied" and r.get("code") == "share_used"]
        assert denied and denied[0]["event_code"] == "PA1004", denied

        await second.close()
        await inbox.disconnect()
        await owner.close()
        # The owner's keys refused while the viewer had control: in its session.ended too.
        ended = await st.wait_audit("session.ended", session_id=owner.id, source="agent")
        assert ended.get("input_refused", 0) >= refused["total"], ended
        # A second viewer that never typed: no count.
        ended = await st.wait_audit("session.ended", session_id=second.id, source="agent")
        assert "input_refused" not in ended, ended
    finally:
        await st.stop()


async def test_a_stopped_viewer_does_not_stall_the_owner_and_resyncs(tmp_path, make_container):
    """The viewer's process is stopped (SIGSTOP: it reads and acknowledges nothing) while the
    owner's shell prints megabytes: the owner gets all of it and its echo goes on; once the
    viewer runs again it gets a reset and the scrollback ring, then live output."""
    st = await start_stack(tmp_path, server_extra=USERS)
    (tmp_path / "colleague.password").write_text(COLLEAGUE_PW)
    (tmp_path / "outsider.password").write_text(OUTSIDER_PW)
    viewer = None
    try:
        c = make_container()
        owner_tok = await login(st.url, st.username, st.password)
        colleague_tok = await login(st.url, "colleague", COLLEAGUE_PW)
        owner = await open_terminal(st.url, owner_tok, st.device_id, c.name, binary=True)
        await echo(owner.client, owner.client, "before-stop")
        ack = await call(owner.sio, "share:invite", {"session_id": owner.id, "user": "colleague"})
        assert ack["ok"], ack
        out = tmp_path / "viewer.out"
        argv = [st.url, colleague_tok, st.device_id, c.name, owner.id, ack["token"], str(out)]
        viewer = ViewerProcess(argv, out)
        await viewer.start()
        assert viewer.proc is not None
        proc = viewer.proc

        await viewer.has(b"before-stop")
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            # 6 MB: past what the viewer's SCTP window, its channel's buffer and its queue hold.
            owner.client.type("head -c 6000000 /dev/zero | tr '\\0' x; echo FL''OOD-DONE\r")
            await owner.client.wait_output("FLOOD-DONE", timeout=120)
            await echo(owner.client, owner.client, "owner-echo-while-stopped")
        finally:
            os.kill(proc.pid, signal.SIGCONT)
        data = await viewer.has(b"owner-echo-while-stopped", after=b"\x1bc", timeout=120)
        assert data.count(b"x") < 6_000_000, "the stopped viewer got every byte: it was never dropped"
        await echo(owner.client, owner.client, "live-after-resync")
        await viewer.has(b"live-after-resync", after=b"\x1bc")
        await owner.close()
    finally:
        if viewer is not None:
            await viewer.stop()
        await st.stop()


async def test_viewers_stay_while_the_owner_is_detached_and_follow_its_resume(tmp_path, make_container):
    """The owner hands control to a viewer, then its connection goes (the shell is detached):
    the viewer keeps watching and typing; the owner resumes in a new session and the viewer,
    still in, is now its viewer (share:state names the new owner session)."""
    st = await start_stack(tmp_path, server_extra=USERS, agent_keys="resume_grace_s = 60\n")
    (tmp_path / "colleague.password").write_text(COLLEAGUE_PW)
    (tmp_path / "outsider.password").write_text(OUTSIDER_PW)
    try:
        c = make_container()
        owner_tok = await login(st.url, st.username, st.password)
        colleague_tok = await login(st.url, "colleague", COLLEAGUE_PW)
        owner = await open_terminal(st.url, owner_tok, st.device_id, c.name)
        ack = await call(owner.sio, "share:invite", {"session_id": owner.id, "user": "colleague"})
        viewer = await join(st, colleague_tok, c.name, owner.id, ack["token"])
        states: list[dict] = []
        viewer.sio.on("share:state", states.append, namespace="/client")
        await echo(owner.client, viewer.client, "both-here")
        assert (await call(owner.sio, "share:control", {"session_id": owner.id, "to": viewer.id}))["ok"]

        await owner.client.close()  # the owner's tab goes; its socket stays
        await st.wait_audit("session.detached", session_id=owner.id, source="agent")
        await echo(viewer.client, viewer.client, "viewer-while-owner-away")

        tok = await call(owner.sio, "session:resume_token", {"session_id": owner.id})
        assert tok["ok"], tok
        back = await open_terminal(
            st.url, owner_tok, st.device_id, c.name, extra={"resume": {"session_id": owner.id, "token": tok["token"]}}
        )
        await back.client.wait_output("viewer-while-owner-away")  # the ring
        await echo(viewer.client, back.client, "viewer-still-in-control")
        # Control is the owner's to give: the resumed session takes it back.
        assert (await call(back.sio, "share:control", {"session_id": back.id, "to": None}))["ok"]
        await echo(back.client, viewer.client, "owner-resumed-types")
        async with asyncio.timeout(15):
            while not any(s.get("owner_session_id") == back.id for s in states):
                await asyncio.sleep(0.1)
        await back.close()
        await viewer.close()
        await owner.sio.disconnect()
    finally:
        await st.stop()
