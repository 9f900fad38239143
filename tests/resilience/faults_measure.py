"""Figures for `make faults` (python/src/porthole/bench/faults.py): each fault of
issue 11 made for real, FAULTS_RUNS times in a row on one stack, each run
appended to $PORTHOLE_FAULTS_OUT as one JSON line: recovered or not, seconds
to recover (from the moment the fault ends), bytes lost.

Not collected by `make test` (the name does not start with test_): the same
faults are checked, once each, by the tests beside it (test_link_faults,
test_ice_restart, test_resume_page, test_resume, test_lossy_link,
test_signaling_loss, test_network_gone, tests/agent/test_crash). A run that
does not recover is recorded as such, not raised, so that the report shows
it; every other run still goes on."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time

import pytest

from porthole.agent.uplink import STABLE_AFTER_S
from tests.agent.test_crash import audit_records
from tests.agent.test_terminal import extra_processes, wait_processes, wait_target
from tests.e2e.test_browser_terminal import open_terminal_in_page, terminal_text, type_line
from tests.resilience.test_ice_restart import pid_of
from tests.resilience.test_resume import core_pid, exec_pids, resume_token, shell_pid, start, wait_record
from tests.resilience.test_signaling_loss import records as signaling_records
from tests.support.fullstack import _spawn, start_stack
from tests.support.product_client import login as api_login
from tests.support.product_client import open_terminal, rebind
from tests.support.slowlink import slow_link
from tests.support.stack import core_binary

RUNS = int(os.environ.get("FAULTS_RUNS", "3"))


@pytest.fixture
def record():
    out = os.environ.get("PORTHOLE_FAULTS_OUT")

    def write(fault: str, run: int, *, recovered: bool, recover_s: float | None, bytes_lost: int | None, **more):
        row = {"fault": fault, "run": run, "recovered": recovered, "recover_s": recover_s, "bytes_lost": bytes_lost}
        row.update(more)
        print(json.dumps(row))
        if out:
            with open(out, "a") as f:
                f.write(json.dumps(row) + "\n")

    return write


def counter(tag: str, lines: int, every_s: float) -> str:
    return (
        f"i=0; while [ $i -lt {lines} ]; do echo {tag}-$i; i=$((i+1)); sleep {every_s}; done; echo {tag}-END-$((6*7))\r"
    )


def numbered(text: str, tag: str) -> list[int]:
    return [int(m) for m in re.findall(rf"^{tag}-(\d+)\r?$", text, flags=re.M)]


async def more_lines(client, tag: str, than: int, timeout: float) -> None:
    await client.wait_for(lambda: len(numbered(client.text(), tag)) > than, timeout=timeout)


async def line_shown(client, tag: str, i: int, timeout: float) -> None:
    await client.wait_for(lambda: i in numbered(client.text(), tag), timeout=timeout)


def loss_detail(seen: list[int], lines: int, text: str) -> dict:
    """What went wrong with a counter's lines, for the record: missing and doubled line numbers,
    and the end of the screen, when anything did."""
    missing = sorted(set(range(lines)) - set(seen))
    doubled = sorted({i for i in seen if seen.count(i) > 1})
    if not missing and not doubled and seen == sorted(seen):
        return {}
    return {"missing": missing[:20], "doubled": doubled[:20], "in_order": seen == sorted(seen), "screen": text[-1500:]}


def lost_bytes(seen: list[int], tag: str, lines: int) -> int:
    """Bytes of the counter's lines (each with its \\r\\n) that never arrived; doubled or out
    of order lines count as lost too (what a terminal shows would be wrong)."""
    missing = set(range(lines)) - set(seen)
    wrong = len(seen) - len(set(seen)) + (0 if seen == sorted(seen) else 1)
    return sum(len(f"{tag}-{i}\r\n") for i in missing) + wrong * len(f"{tag}-0\r\n")


async def test_link_down_3s(agent_factory, make_container, netns_factory, tmp_path, record):
    """aiortc client, porthole-core behind a veth taken down 3 s; a counter printing 50
    lines/s throughout. Recovered: the same peer connection carries on. Time: link up to
    the first line printed during the cut."""
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    agent = await agent_factory(core_binary=dev.wrap(core_binary(), tmp_path), ice_interfaces=[link.ns_dev])
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name)
    for run in range(RUNS):
        tag, lines = f"cut{run}", 300
        client.type(counter(tag, lines, 0.02))
        await more_lines(client, tag, 19, 15)
        link.down()
        await asyncio.sleep(3)
        at_up = len(numbered(client.text(), tag))
        link.up()
        up = time.monotonic()
        recover_s = None
        try:
            await more_lines(client, tag, at_up, 60)
            recover_s = time.monotonic() - up
            await client.wait_output(f"{tag}-END-42", timeout=60)
        except (TimeoutError, AssertionError):
            pass
        seen = numbered(client.text(), tag)
        detail = loss_detail(seen, lines, client.text())
        same = client.pc.connectionState == "connected" and not agent.hub.got(sid, "webrtc:disconnect")
        record(
            "link_down_3s",
            run,
            recovered=recover_s is not None and same,
            recover_s=recover_s,
            bytes_lost=lost_bytes(seen, tag, lines),
            lines=len(seen),
            **detail,
        )


async def test_ice_restart(tmp_path, make_container, netns_factory, new_page, record):
    """Chromium (the page), porthole-core behind a veth taken down, signaling up: the page
    restarts ICE by itself. RUNS cuts of 10 s, then one of 40 s (pion declares ICE failed
    30 s into it). Time: link up to ICE connected again, and to the first line of a counter
    printed during the cut; the shell's pid (`echo $$`) checked the same after each."""
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    st = await start_stack(tmp_path, core_binary_path=dev.wrap(core_binary(), tmp_path), ice_interfaces=[link.ns_dev])
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        sid = await page.evaluate("porthole.state.sessionId")
        pid = await pid_of(page, "first")
        cuts = [("ice_restart_10s", 10.0, run) for run in range(RUNS)] + [("ice_restart_40s", 40.0, 0)]
        for n, (fault, cut_s, run) in enumerate(cuts):
            tag, lines = f"ice{n}", int(cut_s * 10) + 50
            await type_line(page, counter(tag, lines, 0.1).rstrip())
            await page.evaluate(f"porthole.waitText('{tag}-5', 15000)")
            link.down()
            down = time.monotonic()
            while await page.evaluate("porthole.state.ice") in ("connected", "completed"):
                await asyncio.sleep(0.1)
                assert time.monotonic() - down < 30, "ICE never noticed the cut"
            await asyncio.sleep(max(0.0, cut_s - (time.monotonic() - down)))
            at_up = len(numbered(await terminal_text(page), tag))
            restarts = await page.evaluate("porthole.state.iceRestarts")
            link.up()
            up = time.monotonic()
            ice_s = data_s = None
            same_pid = False
            try:
                while await page.evaluate("porthole.state.ice") not in ("connected", "completed"):
                    assert time.monotonic() - up < 60
                    await asyncio.sleep(0.05)
                ice_s = time.monotonic() - up
                while len(numbered(await terminal_text(page), tag)) <= at_up:
                    assert time.monotonic() - up < 60
                    await asyncio.sleep(0.05)
                data_s = time.monotonic() - up
                await page.evaluate(f"porthole.waitText('{tag}-END-42', 60000)")
                same_pid = await pid_of(page, f"after{n}") == pid
            except AssertionError:
                pass
            screen = await terminal_text(page)
            seen = numbered(screen, tag)
            same = await page.evaluate("porthole.state.sessionId") == sid
            record(
                fault,
                run,
                recovered=data_s is not None and same and same_pid,
                recover_s=ice_s,
                data_s=data_s,
                bytes_lost=lost_bytes(seen, tag, lines),
                restarts_while_down=restarts,
                same_pid=same_pid,
                **loss_detail(seen, lines, screen),
            )
    finally:
        await st.stop()


async def test_reload_resume(tmp_path, make_container, new_page, record):
    """Chromium, the tab reloaded while a counter prints (10 lines/s); the page keeps its login
    (sessionStorage: no form) and takes its own terminal back by itself (nothing typed, nothing
    clicked). Time: the reload to the old screen shown (the last line printed before the reload);
    load_s: the reload to the page loaded again (its console shown, from the saved login);
    data_s: to the first line printed while away."""
    st = await start_stack(tmp_path, agent_keys="resume_grace_s = 60\n")
    try:
        c = make_container()
        page = await open_terminal_in_page(new_page, st, c.name)
        for run in range(RUNS):
            tag, lines = f"rl{run}", 80
            old_id = await page.evaluate("porthole.state.sessionId")
            await type_line(page, counter(tag, lines, 0.1).rstrip())
            await page.evaluate(f"porthole.waitText('{tag}-5', 15000)")
            before = numbered(await terminal_text(page), tag)
            reloaded = time.monotonic()
            await page.reload()
            load_s = time.monotonic() - reloaded
            restored = await page.evaluate("porthole.state.loginRestored") is True
            recover_s = data_s = None
            auto = False
            try:
                await page.evaluate(f"porthole.waitText('{tag}-{before[-1]}', 15000)")
                recover_s = time.monotonic() - reloaded
                await page.evaluate(f"porthole.waitText('{tag}-{before[-1] + 1}', 15000)")
                data_s = time.monotonic() - reloaded
                await page.evaluate("porthole.waitState('resumes', 1, 15000)")
                auto = await page.evaluate("porthole.state.autoResume") == old_id
                await page.evaluate(f"porthole.waitText('{tag}-END-42', 30000)")
            except Exception:  # noqa: BLE001 - recorded as not recovered
                pass
            # Whole lines: no answer to a replayed terminal query lands among them (§2e).
            screen = await terminal_text(page)
            seen = [int(n) for n in re.findall(rf"^{tag}-(\d+)$", screen, flags=re.M)]
            record(
                "reload_resume",
                run,
                recovered=data_s is not None
                and auto
                and restored
                and await page.evaluate("porthole.state.channel") == "open",
                recover_s=recover_s,
                data_s=data_s,
                load_s=load_s,
                login_restored=restored,
                bytes_lost=lost_bytes(seen, tag, lines),
                **loss_detail(seen, lines, screen),
            )
    finally:
        await st.stop()


async def test_core_sigkill_resume(tmp_path, make_container, record):
    """aiortc client; porthole-core SIGKILLed while a counter prints (10 lines/s); the client
    resumes with a token as soon as the agent has a new porthole-core. Time: the kill to the
    first line printed after it, in the resumed session."""
    st = await start(tmp_path, 60)
    try:
        c = make_container()
        token = await api_login(st.url, st.username, st.password)
        sess = await open_terminal(st.url, token, st.device_id, c.name)
        pid = await shell_pid(sess.client, "a")
        for run in range(RUNS):
            tag, lines = f"ck{run}", 50
            sess.client.type(counter(tag, lines, 0.1))
            await more_lines(sess.client, tag, 4, 15)
            old = core_pid(st)
            os.kill(old, signal.SIGKILL)
            killed = time.monotonic()
            before = numbered(sess.client.text(), tag)
            recover_s = None
            nxt = sess
            try:
                await wait_record(st, "session.detached", sess.id)
                await sess.client.close()
                async with asyncio.timeout(30):
                    while core_pid(st) == old:
                        await asyncio.sleep(0.05)
                tok = await resume_token(sess)
                nxt = await open_terminal(
                    st.url, token, st.device_id, c.name, extra={"resume": {"session_id": sess.id, "token": tok}}
                )
                after = before[-1] + 1 if before else 0
                await line_shown(nxt.client, tag, after, 30)
                recover_s = time.monotonic() - killed
                await nxt.client.wait_output(f"{tag}-END-42", timeout=30)
            except (TimeoutError, AssertionError):
                pass
            seen = sorted(set(numbered(sess.client.text(), tag)) | set(numbered(nxt.client.text(), tag)))
            same = recover_s is not None and await shell_pid(nxt.client, f"r{run}") == pid
            record(
                "core_sigkill",
                run,
                recovered=same,
                recover_s=recover_s,
                bytes_lost=lost_bytes(seen, tag, lines),
                before_kill_replayed=bool(before) and all(i in numbered(nxt.client.text(), tag) for i in before),
            )
            await sess.sio.disconnect()
            sess = nxt
        await sess.close()
    finally:
        await st.stop()


async def test_lossy_link(agent_factory, make_container, netns_factory, tmp_path, record):
    """aiortc client, porthole-core behind a bridge that drops 10 % of the frames and delays
    each by 100 ms in each direction (tests/support/slowlink.py). Per run: a typed line's
    round trip, then `seq 1 35000` (233,894 bytes through the pty), compared byte for byte."""
    dev = netns_factory("dev")
    link = slow_link(netns_factory, dev, delay_s=0.1, loss=0.1, tmp=tmp_path)
    agent = await agent_factory(core_binary=dev.wrap(core_binary(), tmp_path), ice_interfaces=[link.ns_dev])
    c = make_container()
    await wait_target(agent, c.name)
    _, client = await agent.open_terminal(c.name)
    expected = "".join(f"{i}\r\n" for i in range(1, 35001))
    for run in range(RUNS):
        t = time.monotonic()
        client.type(f"echo typed-{run}-$((6*7))\r")
        await client.wait_output(f"typed-{run}-42\r\n", timeout=30)
        echo_s = time.monotonic() - t
        start_at = len(client.output)
        t = time.monotonic()
        client.type(f"echo B{run}-$((6*7)); seq 1 35000; echo E{run}-$((6*7))\r")
        ok = True
        try:
            await client.wait_output(f"E{run}-42\r\n", timeout=180)
        except AssertionError:
            ok = False
        stream_s = time.monotonic() - t
        text = client.output[start_at:].decode(errors="replace")
        got = text.split(f"B{run}-42\r\n", 1)[-1].split(f"E{run}-42\r\n", 1)[0] if ok else ""
        lost = abs(len(expected) - len(got)) + sum(a != b for a, b in zip(got, expected, strict=False))
        record(
            "lossy_link",
            run,
            recovered=ok,
            recover_s=None,
            bytes_lost=lost if ok else len(expected),
            echo_s=echo_s,
            stream_s=stream_s,
            stream_bytes=len(expected),
        )
    record("lossy_link_bridge", 0, recovered=True, recover_s=None, bytes_lost=None, **link.stats())


async def test_signaling_restart(tmp_path, make_container, record):
    """aiortc client; the signaling server stopped the way a deploy stops it (SIGTERM) and
    started again on the same port, while a counter prints 10 lines/s. Recovered: every line
    arrived (the bytes go peer to peer), the session routed again (the client's rebind answered
    `rebound`), one `session.rerouted` per side per restart (no duplicate), no `session.closed`.
    Time: the new server answering → the session routed again."""
    st = await start_stack(tmp_path)
    try:
        c = make_container()
        token = await api_login(st.url, st.username, st.password)
        sess = await open_terminal(st.url, token, st.device_id, c.name)
        routed_at = time.monotonic()
        for run in range(RUNS):
            # One deploy each: the agent's connection stable long enough that its reconnect
            # backoff starts again from its first step (back-to-back restarts would add up).
            await asyncio.sleep(max(0.0, STABLE_AFTER_S + 1 - (time.monotonic() - routed_at)))
            tag, lines = f"sg{run}", 80
            sess.client.type(counter(tag, lines, 0.1))
            await more_lines(sess.client, tag, 4, 15)
            stopped = time.monotonic()
            await st.stop_server()
            down_lines = len(numbered(sess.client.text(), tag))
            await st.start_server()
            up = time.monotonic()
            recover_s = None
            echoed_while_down = False
            try:
                seen_status = await rebind(sess, st.url, token)
                if seen_status[-1] == "rebound":
                    routed_at = time.monotonic()
                    recover_s = routed_at - up
                echoed_while_down = len(numbered(sess.client.text(), tag)) > down_lines
                await sess.client.wait_output(f"{tag}-END-42", timeout=30)
            except (TimeoutError, AssertionError):
                pass
            seen = numbered(sess.client.text(), tag)
            rerouted = signaling_records(st, "session.rerouted", sess.id)
            sides = sorted(r["side"] for r in rerouted)
            once = sides == sorted(["agent", "client"] * (run + 1))
            closed = signaling_records(st, "session.closed", sess.id)
            record(
                "signaling_restart",
                run,
                recovered=recover_s is not None
                and once
                and not closed
                and sess.client.pc.connectionState == "connected",
                recover_s=recover_s,
                bytes_lost=lost_bytes(seen, tag, lines),
                down_s=up - stopped,
                rerouted_sides=sides,
                counter_went_on=echoed_while_down,
                **loss_detail(seen, lines, sess.client.text()),
            )
        await sess.close()
    finally:
        await st.stop()


async def test_agent_sigkill(tmp_path, make_container, record):
    """aiortc client; a shell with two children ignoring SIGHUP (`sleep`s, as a build would
    run); the agent SIGKILLed, then started again with the same config. Recovered: no process
    of the old session left in the container (`docker top`), audited `session.ended` with
    reason `agent_restarted` and killed 3 (the shell and its two sleeps). Time: the new agent
    started → the container clean (reconciled)."""
    st = await start_stack(tmp_path)
    try:
        c = make_container()
        token = await api_login(st.url, st.username, st.password)
        for run in range(RUNS):
            sess = await open_terminal(st.url, token, st.device_id, c.name)
            a, b = f"sleep {2061 + 2 * run}", f"sleep {2062 + 2 * run}"
            sess.client.type(f"trap '' HUP; {a} & {b}\r")
            await wait_processes(c, a, b)
            assert st.agent is not None
            st.agent.send_signal(signal.SIGKILL)
            await asyncio.to_thread(st.agent.wait)
            connects = st.log("agent").count("connected to server")
            left_after_kill = [p for p in extra_processes(c) if a in p or b in p]
            st.agent = _spawn(
                ["agent", "--config", str(tmp_path / "dev" / "agent-test.toml")], st.logs["agent"], append=True
            )
            started = time.monotonic()
            recover_s = None
            try:
                async with asyncio.timeout(60):
                    while True:
                        c.reload()
                        if not [p for p in extra_processes(c) if a in p or b in p]:
                            break
                        await asyncio.sleep(0.1)
                recover_s = time.monotonic() - started
                async with asyncio.timeout(60):
                    while st.log("agent").count("connected to server") <= connects:
                        await asyncio.sleep(0.2)
            except TimeoutError:
                pass
            ended = [
                r
                for r in audit_records(st.log("agent"))
                if r["event"] == "session.ended" and r.get("session_id") == sess.id
            ]
            audited = [(r["reason"], r.get("killed")) for r in ended]
            record(
                "agent_sigkill",
                run,
                recovered=recover_s is not None and audited == [("agent_restarted", 3)],
                recover_s=recover_s,
                bytes_lost=None,
                audited=audited,
                alive_after_kill=len(left_after_kill),
            )
            await sess.client.close()
            await sess.sio.disconnect()
    finally:
        await st.stop()


async def test_beyond_grace(tmp_path, make_container, netns_factory, record):
    """One run. aiortc client, porthole-core behind a veth taken down for good, signaling up;
    resume_grace_s 3, ice_restart_wait_s 1 (pion declares ICE failed 30 s in). Recovered here
    means handled as designed: the shell kept detached, then killed at the grace's end, `docker
    top` showing nothing of it, audited `detached_timeout`. Time: detached → killed."""
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    st = await start_stack(
        tmp_path,
        agent_keys="resume_grace_s = 3\n",
        sidecar_keys="ice_restart_wait_s = 1\n",
        core_binary_path=dev.wrap(core_binary(), tmp_path),
        ice_interfaces=[link.ns_dev],
    )
    try:
        c = make_container()
        token = await api_login(st.url, st.username, st.password)
        sess = await open_terminal(st.url, token, st.device_id, c.name)
        sess.client.type("exec sleep 4343\r")
        async with asyncio.timeout(15):
            while not any("sleep 4343" in p for p in exec_pids(c.name)):
                await asyncio.sleep(0.2)
        link.down()
        down = time.monotonic()
        detached_s = killed_s = None
        kept = gone = False
        reason, killed = None, None
        try:
            await wait_record(st, "session.detached", sess.id, timeout=90)
            detached_s = time.monotonic() - down
            kept = any("sleep 4343" in p for p in exec_pids(c.name))
            ended = await wait_record(st, "session.ended", sess.id, timeout=30)
            reason, killed = ended["reason"], ended.get("killed")
            async with asyncio.timeout(10):
                while any("sleep 4343" in p for p in exec_pids(c.name)):
                    await asyncio.sleep(0.1)
            killed_s = time.monotonic() - down
            gone = True
        except TimeoutError:
            pass
        link.up()
        record(
            "beyond_grace",
            0,
            recovered=kept and gone and reason == "detached_timeout" and (killed or 0) >= 1,
            recover_s=None if killed_s is None or detached_s is None else killed_s - detached_s,
            bytes_lost=None,
            detached_s=detached_s,
            killed_s=killed_s,
            audited=[reason, killed],
        )
        await sess.client.close()
        await sess.sio.disconnect()
    finally:
        await st.stop()
