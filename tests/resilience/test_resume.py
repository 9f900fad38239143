"""Resume (issue 11, item 2; docs/protocol.md §4c): the real server, agent,
porthole-core and Docker, aiortc as the client. A terminal whose peer
connection is lost keeps its shell detached for [agent] resume_grace_s; a new
session with a resume token takes it back: the same shell process, what it
printed while away replayed first. The grace running out kills it; resume
tokens that are replayed, expired or another user's are refused, each with
its own code, audited, and reach no shell."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import socketio

from porthole import devconfig, grant, resume
from porthole.server import passwords
from tests.support.fullstack import start_stack
from tests.support.product_client import login, open_terminal
from tests.support.rtc_client import TerminalClient

COLLEAGUE_PW = secrets.token_urlsafe(18)


def audit(st) -> list[dict]:
    path = Path(st.dc.directory) / "audit.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []


async def wait_record(st, event: str, session_id: str, source: str = "agent", timeout: float = 30) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            for r in audit(st):
                if r["event"] == event and r.get("session_id") == session_id and r["source"] == source:
                    return r
            await asyncio.sleep(0.2)


async def shell_pid(term, tag: str) -> int:
    term.type(f"echo pid-$$-{tag}\r")
    pattern = re.compile(rf"pid-(\d+)-{tag}\r\n")
    await term.wait_for(lambda: pattern.search(term.text()), what=f"the shell's pid ({tag})")
    return int(pattern.findall(term.text())[-1])


async def start(tmp_path, grace: float, extra_server: str = ""):
    return await start_stack(
        tmp_path,
        agent_keys=f"resume_grace_s = {grace}\n",
        server_extra=extra_server,
        agent_extra='\n[admin]\nsocket = "admin.sock"\n',
    )


async def ctl_sessions(st) -> list[dict]:
    sock = Path(st.dc.directory) / "admin.sock"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "porthole",
        "ctl",
        "--socket",
        str(sock),
        "sessions",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err.decode()
    return json.loads(out).get("sessions", [])


async def detach(st, sess) -> None:
    """The client's peer connection goes away (as a closed tab's does); its socket stays."""
    await sess.client.close()
    await wait_record(st, "session.detached", sess.id)


async def resume_token(sess) -> str:
    ack = await sess.sio.call("session:resume_token", {"session_id": sess.id}, namespace="/client")
    assert ack["ok"], ack
    return ack["token"]


async def test_resume_after_peer_connection_closed_same_shell_and_replay(tmp_path, make_container):
    st = await start(tmp_path, 60)
    try:
        c = make_container()
        token = await login(st.url, st.username, st.password)
        first = await open_terminal(st.url, token, st.device_id, c.name)
        pid = await shell_pid(first.client, "a")
        # Printed while nobody is connected: it must come back in the replay.
        first.client.type("sleep 2; echo away-$((6*7))\r")
        await first.client.wait_output("echo away-")  # the shell has the line
        await detach(st, first)
        # Detached: it still counts and shows, as such.
        listed = {s["session_id"]: s["state"] for s in await ctl_sessions(st)}
        assert listed == {first.id: "detached"}, listed
        await asyncio.sleep(2)

        tok = await resume_token(first)
        second = await open_terminal(
            st.url, token, st.device_id, c.name, extra={"resume": {"session_id": first.id, "token": tok}}
        )
        try:
            await second.client.wait_output("away-42")  # the replay
            assert "pid-" in second.client.text(), "the replay lacks the output from before the loss"
            assert await shell_pid(second.client, "b") == pid, "a new shell: not resumed"
            resumed = await wait_record(st, "session.resumed", second.id)
            assert resumed["resumed_from"] == first.id and resumed["pid"] is not None, resumed
            # The shell's age goes on (max_session_s is not restarted by a resume).
            started = await wait_record(st, "session.started", first.id)
            assert resumed["started_at"] == started["started_at"], (resumed, started)
            ended = await wait_record(st, "session.ended", first.id)
            assert ended["reason"] == "resumed" and ended["killed"] == 0, ended

            # The token was single use: replayed, the device refuses it and no shell is reached.
            ack = await second.sio.call(
                "session:open",
                {
                    "device_id": st.device_id,
                    "target_id": c.name,
                    "kind": "terminal",
                    "resume": {"session_id": first.id, "token": tok},
                },
                namespace="/client",
            )
            assert ack["ok"], ack  # the server cannot know: the device keeps the used tokens
            third = ack["session_id"]
            failed: asyncio.Queue = asyncio.Queue()
            second.sio.on("webrtc:error", failed.put_nowait, namespace="/client")
            probe = TerminalClient()
            offer = {"session_id": third, "type": "offer", "sdp": await probe.offer()}
            assert (await second.sio.call("webrtc:offer", offer, namespace="/client"))["ok"]
            err = await asyncio.wait_for(failed.get(), 20)
            assert err["session_id"] == third and err["code"] == "resume_replayed", err
            denied = await wait_record(st, "session.denied", third)
            assert denied["code"] == "resume_replayed", denied
            await probe.close()
            assert await shell_pid(second.client, "c") == pid
        finally:
            await second.close()
    finally:
        await st.stop()


def exec_pids(container: str) -> list[str]:
    out = subprocess.run(["docker", "top", container, "-o", "pid,args"], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()[1:]


async def test_grace_expiry_kills_the_detached_shell(tmp_path, make_container):
    st = await start(tmp_path, 2)
    try:
        c = make_container()
        token = await login(st.url, st.username, st.password)
        sess = await open_terminal(st.url, token, st.device_id, c.name)
        sess.client.type("exec sleep 1234\r")
        async with asyncio.timeout(15):
            while not any("sleep 1234" in p for p in exec_pids(c.name)):
                await asyncio.sleep(0.2)
        await detach(st, sess)
        ended = await wait_record(st, "session.ended", sess.id)
        assert ended["reason"] == "detached_timeout" and ended["killed"] >= 1, ended
        assert not any("sleep 1234" in p for p in exec_pids(c.name)), exec_pids(c.name)
        await sess.sio.disconnect()
    finally:
        await st.stop()


COLLEAGUE = f"""
[[users]]
name = "colleague"
org = "demo"
password_hash = "{passwords.hash_password(COLLEAGUE_PW, n=2**8)}"

[[users.grants]]
devices = ["*"]
targets = ["*"]
kinds = ["terminal"]
mode = "interactive"
"""


async def test_resume_tokens_refused_each_with_its_code(tmp_path, make_container):
    st = await start(tmp_path, 60, COLLEAGUE)
    (tmp_path / "colleague.password").write_text(COLLEAGUE_PW)  # the secrets scan looks for it
    try:
        c = make_container()
        token = await login(st.url, st.username, st.password)
        sess = await open_terminal(st.url, token, st.device_id, c.name)
        pid = await shell_pid(sess.client, "a")
        await detach(st, sess)
        tok = await resume_token(sess)

        async def refused(sio, resume_body: dict) -> str:
            body = {"device_id": st.device_id, "target_id": c.name, "kind": "terminal", "resume": resume_body}
            ack = await sio.call("session:open", body, namespace="/client")
            assert not ack["ok"], ack
            return ack["error"]["code"]

        # Another user's token (same org, same target: they may open it, not resume this one).
        other = await login(st.url, "colleague", COLLEAGUE_PW)
        theirs = await open_terminal(st.url, other, st.device_id, c.name)
        assert await refused(theirs.sio, {"session_id": sess.id, "token": tok}) == "resume_wrong_user"
        # Nor may they get a token for it.
        ack = await theirs.sio.call("session:resume_token", {"session_id": sess.id}, namespace="/client")
        assert not ack["ok"] and ack["error"]["code"] == "session_not_found", ack
        await theirs.close()

        # Expired: signed by the server's own key, long ago.
        key = grant.load_private_key(Path(st.dc.directory) / devconfig.SIGNING_KEY)
        old = resume.sign(
            key,
            session_id=sess.id,
            user=st.username,
            org="demo",
            device_id=st.device_id,
            target_id=c.name,
            now=time.time() - 600,
        )
        assert await refused(sess.sio, {"session_id": sess.id, "token": old}) == "resume_expired"
        assert await refused(sess.sio, {"session_id": sess.id, "token": tok + "x"}) == "resume_invalid"

        codes = [r.get("code") for r in audit(st) if r["event"] == "session.open_denied"]
        for code in ("resume_wrong_user", "resume_expired", "resume_invalid"):
            assert code in codes, codes

        # None of it reached the shell: it is still detached, and resumes with the good token.
        good = await open_terminal(
            st.url, token, st.device_id, c.name, extra={"resume": {"session_id": sess.id, "token": tok}}
        )
        assert await shell_pid(good.client, "b") == pid
        await good.close()
        await sess.sio.disconnect()
    finally:
        await st.stop()


def core_pid(st) -> int:
    pids = re.findall(r"sidecar ready pid=(\d+)", st.log("agent"))
    assert pids, st.log("agent")[-2000:]
    return int(pids[-1])


async def test_porthole_core_sigkilled_the_shell_survives_and_resumes(tmp_path, make_container):
    st = await start(tmp_path, 60)
    try:
        c = make_container()
        token = await login(st.url, st.username, st.password)
        first = await open_terminal(st.url, token, st.device_id, c.name)
        pid = await shell_pid(first.client, "a")
        first.client.type("sleep 2; echo away-$((6*7))\r")
        await first.client.wait_output("echo away-")
        old = core_pid(st)
        os.kill(old, signal.SIGKILL)
        detached = await wait_record(st, "session.detached", first.id)
        assert detached["reason"] == "sidecar_restarted", detached
        await first.client.close()  # its peer went with porthole-core
        async with asyncio.timeout(30):
            while core_pid(st) == old:
                await asyncio.sleep(0.2)

        tok = await resume_token(first)
        second = await open_terminal(
            st.url, token, st.device_id, c.name, extra={"resume": {"session_id": first.id, "token": tok}}
        )
        try:
            # What the shell wrote meanwhile waited in its descriptor; what it wrote before the
            # crash is in the ring that the agent's memfd kept (ringmem.py): both are replayed.
            await second.client.wait_output("away-42")
            replay = second.client.text()
            assert f"pid-{pid}-a" in replay, f"the scrollback from before the crash is not replayed: {replay!r}"
            assert replay.index(f"pid-{pid}-a") < replay.index("away-42"), replay
            assert await shell_pid(second.client, "b") == pid, "a new shell: not resumed"
            resumed = await wait_record(st, "session.resumed", second.id)
            assert resumed["replay"] == "descriptor", resumed
        finally:
            await second.close()
    finally:
        await st.stop()


async def test_resume_refused_after_access_was_revoked(tmp_path, make_container):
    st = await start(tmp_path, 60)
    try:
        c = make_container()
        token = await login(st.url, st.username, st.password)
        sess = await open_terminal(st.url, token, st.device_id, c.name)
        await shell_pid(sess.client, "a")
        await detach(st, sess)
        tok = await resume_token(sess)
        await sess.sio.disconnect()

        # The operator loses this target: the server restarts with the narrowed grant.
        await st.stop_server()
        cfg = st.dc.server_config
        text = cfg.read_text()
        assert 'targets = ["*"]' in text
        cfg.write_text(text.replace('targets = ["*"]', 'targets = ["nothing-here-*"]', 1))
        await st.start_server()

        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(st.url, namespaces=["/client"], auth={"token": token}, transports=["websocket"])
        try:
            body = {
                "device_id": st.device_id,
                "target_id": c.name,
                "kind": "terminal",
                "resume": {"session_id": sess.id, "token": tok},
            }
            ack = await sio.call("session:open", body, namespace="/client")
            assert not ack["ok"] and ack["error"]["code"] == "resume_denied", ack
        finally:
            await sio.disconnect()
        denied = [r for r in audit(st) if r["event"] == "session.open_denied" and r.get("code") == "resume_denied"]
        assert denied and denied[0]["user"] == st.username, denied
        # Nothing reached the device: no offer after the first session's, nothing resumed.
        requested = [r["session_id"] for r in audit(st) if r["event"] == "session.requested"]
        assert requested == [sess.id], requested
        assert not [r for r in audit(st) if r["event"] == "session.resumed"]
    finally:
        await st.stop()
