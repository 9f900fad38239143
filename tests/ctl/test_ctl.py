"""`porthole ctl` against a live session: the real agent (subprocess) with its
real porthole-core, a real container, aiortc as the remote peer, and the real
CLI run as a subprocess. Also the agent's Prometheus endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

from tests.agent.test_terminal import extra_processes, wait_no_extra_processes, wait_target
from tests.support.rtc_client import TerminalClient
from tests.support.stack import REPO

CTL_TIMEOUT_S = 30.0


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


async def ctl(*args: str, socket=None) -> Result:
    argv = [sys.executable, "-m", "porthole", "ctl", *args]
    if socket is not None:
        argv += ["--socket", str(socket)]
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=REPO
    )
    out, err = await asyncio.wait_for(proc.communicate(), CTL_TIMEOUT_S)
    assert proc.returncode is not None  # communicate() waited for the exit
    return Result(proc.returncode, out.decode(), err.decode())


def admin_socket(agent):
    return agent.log_path.parent / "admin.sock"


def scrape(address: str) -> dict[tuple[str, tuple], float]:
    """The agent's /metrics parsed as Prometheus text: {(sample name, labels): value}."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def wait_stats(sock, predicate, timeout: float = 15.0) -> dict:
    """`ctl stats --json` until predicate(stats) holds (an end is recorded after its cleanup)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        st = (await ctl("stats", "--json", socket=sock)).json()
        if predicate(st):
            return st
        assert loop.time() < deadline, st
        await asyncio.sleep(0.2)


async def test_ctl_on_a_live_session(agent, make_container):
    sock = admin_socket(agent)
    c = make_container()
    await wait_target(agent, c.name)

    # watch first: once it says it is watching, it misses nothing.
    watch = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "porthole",
        "ctl",
        "--socket",
        str(sock),
        "watch",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    assert watch.stderr is not None  # stderr=PIPE
    line = await asyncio.wait_for(watch.stderr.readline(), CTL_TIMEOUT_S)
    assert b"watching session events" in line, line

    sid, client = await agent.open_terminal(c.name, cols=100, rows=30)
    client.type("echo ctl-$((6*7)); sleep 1004 & sleep 1005\r")
    await client.wait_output("ctl-42")
    await asyncio.sleep(0.3)  # the two sleeps start after the echo
    assert "sleep 1005" in " ".join(extra_processes(c))

    # sessions --json: the agent's facts joined with the sidecar's.
    r = await ctl("sessions", "--json", socket=sock)
    assert r.code == 0, r
    listing = r.json()
    assert listing["total"] == 1
    s = listing["sessions"][0]
    assert s["session_id"] == sid and s["user"] == "alice" and s["org"] == "acme"
    assert s["device_id"] == agent.device_id and s["target_id"] == c.name and s["target_kind"] == "container"
    assert s["container_id"] == c.id
    assert s["kind"] == "terminal" and s["mode"] == "interactive" and s["state"] == "running"
    c.reload()
    assert s["exec_id"] in c.attrs["ExecIDs"]
    assert s["pid"] > 0 and (s["cols"], s["rows"]) == (100, 30)
    assert s["bytes_from_peer"] > 0 and s["bytes_to_peer"] > 0
    assert s["opened_unix_micros"] <= s["started_unix_micros"] < s["grant_expires_unix_micros"] + 10**8
    assert s["setup_ms"] > 0
    t = s["transport"]
    assert s["transport_error"] == "" and t is not None, s
    assert t["session_id"] == sid and t["peer_state"] == "connected" and t["ice_state"] in ("connected", "completed")
    assert t["selected_pair"]["local_type"] == "host" and t["selected_pair"]["protocol"] == "udp"
    assert t["bytes_sent"] > 0 and t["bytes_received"] > 0
    term = [ch for ch in t["channels"] if ch["label"] == "terminal"]
    assert term and term[0]["state"] == "open", t["channels"]
    assert term[0]["messages_sent"] > 0 and term[0]["messages_received"] > 0

    # The table renders the same session.
    r = await ctl("sessions", socket=sock)
    assert r.code == 0, r
    header, row = r.out.splitlines()[:2]
    assert header.split()[:6] == ["SESSION", "USER", "TARGET", "KIND", "MODE", "STATE"]
    assert row.split()[:6] == [sid, "alice", c.name, "terminal", "interactive", "running"]

    # show: one session, everything.
    r = await ctl("show", sid, "--json", socket=sock)
    assert r.code == 0, r
    shown = r.json()
    assert shown["session_id"] == sid and shown["pid"] == s["pid"] and shown["exec_id"] == s["exec_id"]
    assert shown["transport"]["selected_pair"]["remote_address"]
    r = await ctl("show", sid, socket=sock)
    assert r.code == 0, r
    assert f"session {sid}" in r.out and "exec id" in r.out and s["exec_id"] in r.out
    assert re.search(r"selected pair\s+host \S+ <-> host \S+ \(udp\)", r.out), r.out
    assert re.search(r"^terminal\s+json\s+open\s+\d+", r.out, re.M), r.out

    # stats: agent-wide.
    r = await ctl("--json", "stats", socket=sock)
    assert r.code == 0, r
    st = r.json()
    assert st["device_id"] == agent.device_id and st["sessions_open"] == 1
    assert st["open_by_kind"]["terminal"] == 1
    assert st["sessions_requested"] == 1 and st["sessions_started"] == 1 and st["sessions_failed"] == 0
    assert st["bytes_to_peers"] >= s["bytes_to_peer"] > 0 and st["transport_bytes_sent"] > 0
    assert st["setup_ms_max"] > 0 and st["targets"] >= 1 and st["signaling_connected"] is True
    r = await ctl("stats", socket=sock)
    assert r.code == 0 and re.search(r"sessions open\s+1 of \d+ \(terminal 1\)", r.out), r

    # health
    r = await ctl("health", "--json", socket=sock)
    assert r.code == 0, r
    h = r.json()
    ready = re.search(r"sidecar ready pid=(\d+)", agent.log())
    assert ready, agent.log()
    sidecar_pid = int(ready.group(1))
    assert h["ok"] is True and h["problems"] == [] and h["accepting"] and h["signaling_connected"]
    assert h["agent_pid"] == agent.proc.pid
    assert h["sidecar"]["status"] == "SERVING" and h["sidecar"]["pid"] == sidecar_pid and h["sidecar"]["sessions"] == 1
    assert h["admin_socket"] == str(sock) and h["metrics_address"].startswith("127.0.0.1:")
    assert "@" not in h["server_url"]
    r = await ctl("health", socket=sock)
    assert r.code == 0 and f"agent {agent.device_id}: ok" in r.out and "SERVING" in r.out, r

    # metrics count the live session.
    m = scrape(h["metrics_address"])
    assert m[("porthole_agent_sessions_open", (("kind", "terminal"),))] == 1
    assert m[("porthole_agent_sessions_requested_total", (("kind", "terminal"),))] == 1
    assert m[("porthole_agent_sessions_opened_total", (("kind", "terminal"),))] == 1
    assert m[("porthole_agent_session_setup_seconds_count", (("kind", "terminal"),))] == 1
    assert m[("porthole_agent_session_bytes_total", (("direction", "out"),))] > 0
    assert m[("porthole_agent_sidecar_up", ())] == 1
    assert m[("porthole_agent_sidecar_restarts_total", ())] == 0

    # close: the same cleanup as any close, nothing left running in the container.
    r = await ctl("close", sid, "--json", socket=sock)
    assert r.code == 0, r
    closed = r.json()
    # The shell and its 2 sleeps, each counted once.
    assert closed["reason"] == "closed_by_admin" and closed["processes_killed"] == 3, closed
    await wait_no_extra_processes(c)
    bye = await agent.hub.wait_event(sid, "webrtc:disconnect")
    assert bye["reason"] == "closed_by_admin"
    r = await ctl("sessions", "--json", socket=sock)
    assert r.code == 0 and r.json() == {"sessions": [], "total": 0}, r
    r = await ctl("sessions", socket=sock)
    assert r.out.strip() == "no live sessions"

    # The session is gone: show and close say so, with exit code 1.
    for args in (("show", sid), ("close", sid)):
        r = await ctl(*args, socket=sock)
        assert r.code == 1 and f"no live session {sid!r}" in r.err, r

    m = scrape(h["metrics_address"])
    assert m[("porthole_agent_sessions_open", (("kind", "terminal"),))] == 0
    assert m[("porthole_agent_sessions_ended_total", (("reason", "closed_by_admin"),))] == 1
    r = await ctl("stats", "--json", socket=sock)
    assert r.json()["ended_by_reason"] == {"closed_by_admin": 1}

    # watch saw the whole life of the session, and stops cleanly on SIGINT.
    await asyncio.sleep(0.2)
    watch.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(watch.communicate(), CTL_TIMEOUT_S)
    assert watch.returncode == 0, err
    events = [json.loads(x) for x in out.decode().splitlines()]
    mine = [e for e in events if e["session_id"] == sid]
    names = [e["name"] for e in mine]
    for name in (
        "session.requested",
        "session.answered",
        "session.candidate",
        "session.state",
        "session.started",
        "session.ended",
    ):
        assert name in names, names
    assert names.index("session.requested") < names.index("session.answered") < names.index("session.ended")
    sides = {e["fields"]["side"] for e in mine if e["name"] == "session.candidate"}
    assert "local" in sides  # aiortc does not trickle: its candidates are in the offer
    cands = [e["fields"]["candidate"] for e in mine if e["name"] == "session.candidate" and e["fields"]["candidate"]]
    assert cands and all("ufrag <redacted>" in x for x in cands), cands  # like the logs, no ICE ufrag
    assert any(e["fields"].get("peer_state") == "connected" for e in mine if e["name"] == "session.state")
    started = next(e for e in mine if e["name"] == "session.started")
    assert started["fields"]["pid"] == s["pid"] and started["fields"]["exec_id"] == s["exec_id"]
    ended = next(e for e in mine if e["name"] == "session.ended")
    assert ended["fields"]["reason"] == "closed_by_admin" and ended["fields"]["user"] == "alice"
    assert all(e["time_unix_micros"] > 0 for e in mine)
    assert "grant" not in out.decode().lower()


async def test_denied_offer_is_counted_and_watched_and_the_socket_is_private(agent, make_container):
    sock = admin_socket(agent)
    c = make_container()
    await wait_target(agent, c.name)

    watch = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "porthole",
        "ctl",
        "watch",
        "--json",
        "--count",
        "1",
        "--socket",
        str(sock),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    assert watch.stderr is not None  # stderr=PIPE
    assert b"watching" in await asyncio.wait_for(watch.stderr.readline(), CTL_TIMEOUT_S)
    sid, token = agent.sign("porthole-test-does-not-exist")
    await agent.offer(TerminalClient(), sid, token)
    assert (await agent.hub.wait_event(sid, "webrtc:error"))["code"] == "target_not_found"

    out, _ = await asyncio.wait_for(watch.communicate(), CTL_TIMEOUT_S)
    assert watch.returncode == 0
    (ev,) = [json.loads(x) for x in out.decode().splitlines()]
    assert ev["name"] == "session.denied" and ev["session_id"] == sid
    assert ev["fields"]["code"] == "target_not_found"
    assert token not in out.decode()

    st = (await ctl("stats", "--json", socket=sock)).json()
    assert st["sessions_failed"] == 1 and st["failed_by_reason"] == {"target_not_found": 1}
    assert st["sessions_open"] == 0
    h = (await ctl("health", "--json", socket=sock)).json()
    m = scrape(h["metrics_address"])
    assert m[("porthole_agent_sessions_failed_total", (("reason", "target_not_found"),))] == 1

    # The admin socket is private: mode 0600, and another user is told so.
    mode = sock.stat().st_mode & 0o777
    assert mode == 0o600, oct(mode)
    # Another user gets a clear "permission denied", exit code 4.
    proc = await asyncio.create_subprocess_exec(
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        sys.executable,
        "-m",
        "porthole",
        "ctl",
        "--socket",
        str(sock),
        "sessions",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    out, err = await asyncio.wait_for(proc.communicate(), CTL_TIMEOUT_S)
    assert proc.returncode == 4, (out, err)
    assert err.decode().strip() == f"porthole ctl: permission denied on {sock}: run as the agent's user (or root)"
    # And the same user (root here) still gets in.
    assert (await ctl("sessions", socket=sock)).code == 0


async def test_ctl_without_an_agent(tmp_path):
    missing = tmp_path / "nothing-here.sock"
    for cmd in ("sessions", "watch"):
        r = await ctl(cmd, socket=missing)
        assert r.code == 3, r
        assert r.err.strip() == (
            f"porthole ctl: cannot reach the agent at {missing}: is `porthole agent` running? "
            "(no socket there; see --socket and [admin] socket)"
        ), r.err
        assert r.out == ""

    # A socket file nobody listens on (an agent that was killed).
    import socket as pysocket

    stale = tmp_path / "stale.sock"
    s = pysocket.socket(pysocket.AF_UNIX)
    s.bind(str(stale))
    s.close()
    for cmd in ("sessions", "watch"):
        r = await ctl(cmd, socket=stale)
        assert r.code == 3 and f"cannot reach the agent at {stale}: is `porthole agent` running?" in r.err, r

    # Something listens but never answers: every call, watch included, ends at its deadline.
    hung = tmp_path / "hung.sock"
    listener = pysocket.socket(pysocket.AF_UNIX)
    listener.bind(str(hung))
    listener.listen(8)
    try:
        for cmd in ("health", "watch"):
            r = await ctl("--timeout", "1", cmd, socket=hung)
            assert r.code == 3 and r.err.strip() == f"porthole ctl: the agent at {hung} did not answer within 1 s", r
    finally:
        listener.close()

    r = await ctl("--target", "127.0.0.1:1", "sessions")
    assert r.code == 2 and "--target needs --tls-ca, --tls-cert and --tls-key" in r.err, r


async def test_sidecar_restart_shows_in_health_stats_and_metrics(agent, make_container):
    sock = admin_socket(agent)
    c = make_container()
    await wait_target(agent, c.name)
    sid, _client = await agent.open_terminal(c.name)
    h = (await ctl("health", "--json", socket=sock)).json()
    old_pid = h["sidecar"]["pid"]
    os.kill(old_pid, signal.SIGKILL)  # porthole-core dies under the agent (it was started by our agent)

    # The session on it ends (the agent's cleanup), the supervisor starts a new sidecar.
    bye = await agent.hub.wait_event(sid, "webrtc:disconnect")
    assert bye["reason"] == "sidecar_restarted"
    await wait_no_extra_processes(c)
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        r = await ctl("health", "--json", socket=sock)
        h = r.json()
        if r.code == 0 and h["sidecar"]["pid"] not in (0, old_pid):
            break
        assert asyncio.get_running_loop().time() < deadline, h
        await asyncio.sleep(0.2)
    assert h["ok"] and h["sidecar"]["status"] == "SERVING" and h["sidecar"]["restarts"] == 1
    st = await wait_stats(sock, lambda st: st["sessions_ended"] == 1)
    assert st["sidecar_restarts"] == 1 and st["ended_by_reason"] == {"sidecar_restarted": 1}
    m = scrape(h["metrics_address"])
    assert m[("porthole_agent_sidecar_restarts_total", ())] == 1
    assert m[("porthole_agent_sessions_ended_total", (("reason", "sidecar_restarted"),))] == 1


async def test_client_chosen_close_reasons_do_not_become_labels(agent, make_container):
    sock = admin_socket(agent)
    c = make_container()
    await wait_target(agent, c.name)
    sid, _ = await agent.open_terminal(c.name)
    await agent.hub.send("webrtc:disconnect", {"session_id": sid, "reason": "Bye Bye <script>"})
    await wait_no_extra_processes(c)
    st = await wait_stats(sock, lambda st: st["sessions_ended"] == 1)
    # A reason outside the fixed set never reaches the agent's audit or labels: it ends as client_gone.
    assert st["ended_by_reason"] == {"client_gone": 1}, st
    text = (
        urllib.request.urlopen(
            f"http://{(await ctl('health', '--json', socket=sock)).json()['metrics_address']}/metrics", timeout=5
        )
        .read()
        .decode()
    )
    assert "Bye" not in text and 'porthole_agent_sessions_ended_total{reason="client_gone"} 1.0' in text


async def test_watch_ends_clearly_when_the_agent_stops(agent):
    sock = admin_socket(agent)
    watch = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "porthole",
        "ctl",
        "--socket",
        str(sock),
        "watch",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    assert watch.stderr is not None  # stderr=PIPE
    assert b"watching" in await asyncio.wait_for(watch.stderr.readline(), CTL_TIMEOUT_S)
    agent.proc.terminate()
    await asyncio.wait_for(asyncio.to_thread(agent.proc.wait), 20)
    out, err = await asyncio.wait_for(watch.communicate(), CTL_TIMEOUT_S)
    assert watch.returncode == 1, (out, err)
    assert err.decode().strip().startswith("porthole ctl: the agent ended the stream"), err
    assert not sock.exists()  # the agent removed its socket


async def test_agent_refuses_an_admin_socket_another_process_serves(tmp_path):
    import socket as pysocket

    from porthole import grant as grants

    taken = tmp_path / "taken.sock"
    listener = pysocket.socket(pysocket.AF_UNIX)
    listener.bind(str(taken))
    listener.listen(1)
    _, public = grants.generate_keypair()
    (tmp_path / "pub.pem").write_bytes(public)
    (tmp_path / "secret").write_text("s3cret-s3cret-s3cret")
    cfg = tmp_path / "agent.toml"
    cfg.write_text(f"""
[agent]
device_id = "edge-x"
server_url = "http://127.0.0.1:9"
secret_file = "secret"
grant_public_key = "pub.pem"
[sidecar]
socket = "core.sock"
[admin]
socket = "{taken}"
""")
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "porthole",
            "agent",
            "--config",
            str(cfg),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=REPO,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), CTL_TIMEOUT_S)
    finally:
        listener.close()
    assert proc.returncode == 1, out
    assert f"admin.socket: another process serves {taken}" in out.decode(), out
    assert taken.exists()  # not taken over
