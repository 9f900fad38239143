"""Agent pieces that need no network: config validation, the candidate
parser, grant checks and the process-session killer."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from porthole import grant, wire
from porthole.agent import config, killtree, uplink
from porthole.agent.signaling import candidate_from_wire as _candidate_from_wire
from porthole.errors import ConfigError, PortholeError

BASE = {
    "agent": {
        "device_id": "edge-1",
        "server_url": "http://127.0.0.1:1",
        "secret_file": "s",
        "grant_public_key": "k.pem",
    }
}


def test_config_defaults_and_relative_paths(tmp_path):
    cfg = config.from_dict(BASE, base=tmp_path)
    assert cfg.secret_file == tmp_path / "s"
    assert cfg.targets.containers == ("*",) and cfg.targets.host_shell is False
    argv = cfg.sidecar.argv()
    assert "--listen" in argv and "--ice-server" not in argv
    assert argv[argv.index("--ice-restart-wait") + 1] == "60s"


@pytest.mark.parametrize(
    "patch,needle",
    [
        ({"agent": {"device_id": "bad id!"}}, "agent.device_id"),
        ({"agent": {"server_url": "ftp://x"}}, "agent.server_url"),
        # The device secret would cross the network in clear (issue 14, 7).
        ({"agent": {"server_url": "http://signal.example.com"}}, "would send the device secret in clear"),
        ({"agent": {"server_url": "http://10.1.2.3:8080"}}, "agent.allow_insecure_http"),
        ({"agent": {"server_url": []}}, "agent.server_url: one URL or a list"),
        ({"agent": {"server_url": ["https://a.example", "http://10.1.2.3"]}}, "agent.server_url[1]: plain http://"),
        ({"agent": {"server_url": ["https://a.example", 5]}}, "agent.server_url[1]: must start with"),
        ({"agent": {"server_url": ["https://a.example", "https://a.example"]}}, "the same URL twice"),
        ({"agent": {"max_sessions": 0}}, "agent.max_sessions"),
        ({"sidecar": {"udp_port_min": 5000, "udp_port_max": 4000}}, "udp_port_min"),
        ({"sidecar": {"ice_restart_wait_s": 0}}, "sidecar.ice_restart_wait_s: 1..3600"),
        ({"sidecar": {"mdns": "loud"}}, "sidecar.mdns"),
        ({"targets": {"containers": "plc"}}, "targets.containers"),
        ({"surprise": {}}, "unknown section"),
        ({"agent": {"reconnect_delay_s": 0}}, "agent.reconnect_delay_s: 0.1..3600"),
        ({"agent": {"reconnect_delay_s": "1"}}, "agent.reconnect_delay_s: expected float"),
        ({"agent": {"reconnect_delay_max_s": 7200}}, "agent.reconnect_delay_max_s: 0.1..3600"),
        ({"agent": {"reconnect_delay_s": 5, "reconnect_delay_max_s": 2}}, "must not be below agent.reconnect_delay_s"),
    ],
)
def test_config_errors_name_the_key(tmp_path, patch, needle):
    raw = {k: dict(v) for k, v in BASE.items()}
    for section, values in patch.items():
        raw.setdefault(section, {}).update(values)
    with pytest.raises(ConfigError) as e:
        config.from_dict(raw, base=tmp_path)
    assert needle in str(e.value)


@pytest.mark.parametrize(
    "url,extra",
    [
        ("https://signal.example.com", {}),
        ("http://127.0.0.1:8080", {}),
        ("http://localhost:8080", {}),
        ("http://[::1]:8080", {}),
        ("http://0.0.0.0:8080", {}),  # dev-config --listen 0.0.0.0: still this machine
        ("http://10.1.2.3:8080", {"allow_insecure_http": True}),
    ],
)
def test_server_urls_that_keep_the_secret_off_the_wire(tmp_path, url, extra):
    raw = {k: dict(v) for k, v in BASE.items()}
    raw["agent"].update({"server_url": url, **extra})
    assert config.from_dict(raw, base=tmp_path).server_url == url


def test_reconnect_delays_default_and_set(tmp_path):
    cfg = config.from_dict(BASE, base=tmp_path)
    assert (cfg.reconnect_delay_s, cfg.reconnect_delay_max_s) == (1.0, 30.0)
    raw = {"agent": {**BASE["agent"], "reconnect_delay_s": 2, "reconnect_delay_max_s": 10.5}}
    cfg = config.from_dict(raw, base=tmp_path)
    assert (cfg.reconnect_delay_s, cfg.reconnect_delay_max_s) == (2.0, 10.5)


def test_backoff_doubles_is_capped_and_jittered_down():
    top = [uplink.backoff_delay(n, 1.0, 30.0, rand=lambda: 0.0) for n in range(8)]
    assert top == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    low = [uplink.backoff_delay(n, 1.0, 30.0, rand=lambda: 1.0) for n in range(8)]
    assert low == [d * (1 - uplink.JITTER) for d in top]
    assert uplink.backoff_delay(10_000, 1.0, 30.0) <= 30.0  # no overflow, still capped


def test_secret_is_reread(tmp_path):
    cfg = config.from_dict(BASE, base=tmp_path)
    (tmp_path / "s").write_text("one\n")
    assert cfg.read_secret() == "one"
    (tmp_path / "s").write_text("two")
    assert cfg.read_secret() == "two"


@pytest.mark.parametrize(
    "bad",
    [
        "x",
        5,
        {"candidate": 7},
        {"candidate": "a" * 2000},
        {"candidate": "c", "sdpMLineIndex": "0"},
        {"candidate": "c", "sdpMLineIndex": True},
        {"candidate": "c", "sdpMid": ["0"]},
    ],
)
def test_candidate_parser_rejects_garbage(bad):
    with pytest.raises(PortholeError) as e:
        _candidate_from_wire(bad)
    assert e.value.code == "bad_request"


def test_candidate_parser_accepts_browser_shapes():
    c = _candidate_from_wire(
        {"candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    )
    assert c.sdp_mid == "0" and c.sdp_mline_index == 0
    top = _candidate_from_wire({"candidate": "c", "sdpMLineIndex": wire.MAX_MLINE_INDEX})
    assert top.sdp_mline_index == wire.MAX_MLINE_INDEX  # what the server acks, the device takes (wire.py)
    with pytest.raises(PortholeError):
        _candidate_from_wire({"candidate": "c", "sdpMLineIndex": wire.MAX_MLINE_INDEX + 1})
    end = _candidate_from_wire(None)
    assert end.candidate == "" and end.sdp_mline_index == -1


def test_grant_checks_each_have_a_code():
    key = Ed25519PrivateKey.generate()
    pub = key.public_key()
    t = grant.sign(key, session_id="s1", user="u", org="o", device_id="d", target_id="c")
    assert grant.verify(t, pub, device_id="d").target_id == "c"
    cases = [
        (lambda: grant.verify(t, pub, device_id="other"), "grant_wrong_device"),
        (lambda: grant.verify(t, pub, device_id="d", now=time.time() + 3600), "grant_expired"),
        (lambda: grant.verify(t, Ed25519PrivateKey.generate().public_key(), device_id="d"), "grant_invalid"),
        (lambda: grant.verify(t[:-4] + "AAAA", pub, device_id="d"), "grant_invalid"),
        (lambda: grant.verify(None, pub, device_id="d"), "grant_invalid"),
        (lambda: grant.verify("x" * 5000, pub, device_id="d"), "grant_invalid"),
    ]
    for call, code in cases:
        with pytest.raises(PortholeError) as e:
            call()
        assert e.value.code == code


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:
        return b""


def test_kill_session_kills_jobs_in_other_process_groups(tmp_path: Path):
    # A shell leading its own session, with a background job that job control
    # would put in another process group, and a child that started its own session.
    script = "sleep 1011 & setsid sleep 1012 & sleep 1013"
    leader = subprocess.Popen(["bash", "-c", script], start_new_session=True)
    try:
        # Wait until the tree has settled: setsid(1) forks, and its parent exits a moment later.
        want = {b"sleep 1011", b"sleep 1012", b"sleep 1013"}
        deadline = time.monotonic() + 10
        while True:
            members = killtree.session_members(leader.pid)
            names = {_cmdline(p) for p in members} - {b"bash -c " + script.encode()}
            if names == want or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert names == want, names
        # The count is of processes, each once (not of signals over several passes).
        assert killtree.kill_session(leader.pid, killtree.start_time(leader.pid)) == len(members)
    finally:
        leader.kill()
    leader.wait(timeout=5)
    time.sleep(0.2)
    assert not [p for p in members if _alive(p)]
    with pytest.raises(ValueError):
        killtree.kill_session(1)


def test_kill_session_counts_a_member_that_died_before_its_signal(tmp_path: Path, monkeypatch):
    # Killing a shell hangs its terminal up: the kernel's SIGHUP can end the foreground
    # job between the scan and our own signal to it. It was a process of the session all
    # the same, and the audit's `killed` counts the session's processes.
    leader = subprocess.Popen(["bash", "-c", "sleep 1021 & sleep 1022"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(members := killtree.session_members(leader.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(members) == 3, members
        victim = max(p for p in members if p != leader.pid)  # a job, which the hangup ends first
        real_signal = killtree._signal

        def hung_up_first(pid: int, start: int, sig: int) -> bool:
            if pid == victim:
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
                while killtree.start_time(pid) == start and time.monotonic() < deadline:
                    time.sleep(0.01)
                return real_signal(pid, start, sig)  # False: it is gone (a zombie, then reaped)
            return real_signal(pid, start, sig)

        monkeypatch.setattr(killtree, "_signal", hung_up_first)
        assert killtree.kill_session(leader.pid, killtree.start_time(leader.pid)) == 3
    finally:
        leader.kill()
    leader.wait(timeout=5)


def test_kill_session_leaves_a_process_that_reused_the_pid_alone():
    # The shell we knew started at some time; its pid now names another process
    # (started later): that one, and its session, must not be touched.
    other = subprocess.Popen(["bash", "-c", "sleep 1021 & sleep 1022"], start_new_session=True)
    try:
        time.sleep(0.3)
        members = killtree.session_members(other.pid)
        assert len(members) >= 2
        started = killtree.start_time(other.pid)
        assert started is not None
        then = started - 1  # "the shell we knew" started just before
        assert killtree.session_members(other.pid, then) == {}
        assert killtree.kill_session(other.pid, then) == 0
        assert all(_alive(p) for p in members)
    finally:
        killtree.kill_session(other.pid)
        other.wait(timeout=5)


def test_start_time_tells_processes_apart():
    a = subprocess.Popen(["sleep", "1031"])
    try:
        ta = killtree.start_time(a.pid)
        assert ta is not None and ta == killtree.start_time(a.pid)
        assert (killtree.start_time(os.getpid()) or ta) < ta
    finally:
        a.kill()
        a.wait()
    assert killtree.start_time(a.pid) is None


def _alive(pid: int) -> bool:
    """Exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def test_server_url_takes_one_url_or_the_list_of_nodes(tmp_path):
    one = config.from_dict(BASE, base=tmp_path)
    assert one.server_urls == ("http://127.0.0.1:1",) and one.server_url == "http://127.0.0.1:1"
    raw = {"agent": {**BASE["agent"], "server_url": ["https://n1.example", "https://n2.example"]}}
    many = config.from_dict(raw, base=tmp_path)
    assert many.server_urls == ("https://n1.example", "https://n2.example") and many.server_url == "https://n1.example"


async def test_uplink_tries_the_next_server_url_after_each_failure(tmp_path):
    """Every attempt after a failure goes to the next URL in turn, round and round."""
    import socketio

    from tests.support.waiting import async_wait_for

    tried: list[str] = []

    class Refused(socketio.AsyncClient):
        async def connect(self, url, **kw):
            tried.append(url)
            raise socketio.exceptions.ConnectionError("refused")

    async def on_connected() -> None:
        pass

    urls = ("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3")
    link = uplink.Uplink(
        Refused(reconnection=False),
        urls,
        "/agent",
        auth=lambda: {"device_id": "edge-1", "secret": "s"},
        on_connected=on_connected,
        delay_s=0.1,
        delay_max_s=0.1,
    )
    link.start()
    try:
        await async_wait_for(lambda: len(tried) >= 5, timeout=20, message="five attempts")
    finally:
        await link.stop()
    assert tried[:5] == [*urls, *urls[:2]]


async def test_uplink_retries_unreachable_and_unreadable_secret_with_one_loop(tmp_path):
    """Against a closed port: attempts fail as `unreachable` and keep coming; a secret that cannot be
    read fails as `config_invalid` and is read again on the next attempt; a second loop is refused."""
    import asyncio

    import socketio

    from tests.support.hub import free_port
    from tests.support.waiting import async_wait_for

    cfg = config.from_dict(BASE, base=tmp_path)  # secret file "s" does not exist yet
    calls = []

    async def on_connected() -> None:
        calls.append("connected")

    link = uplink.Uplink(
        socketio.AsyncClient(reconnection=False),
        f"http://127.0.0.1:{free_port()}",
        "/agent",
        auth=lambda: {"device_id": "edge-1", "secret": cfg.read_secret()},
        on_connected=on_connected,
        delay_s=0.1,
        delay_max_s=0.2,
    )
    link.start()
    try:
        with pytest.raises(RuntimeError):
            link.start()
        await async_wait_for(lambda: link.status().failed_attempts >= 2, timeout=20, message="two failed attempts")
        assert link.status().last_error == "config_invalid"
        (tmp_path / "s").write_text("secret")  # now readable: the next attempt gets as far as the network
        await async_wait_for(lambda: link.status().last_error == "unreachable", timeout=20, message="unreachable")
        st = link.status()
        assert st.state in ("disconnected", "connecting") and st.disconnected_s > 0 and not calls
    finally:
        await link.stop()
    assert link.status().state == "disconnected"
    n = link.status().failed_attempts
    await asyncio.sleep(0.5)  # over twice the longest delay: no loop is left to try again
    assert link.status().failed_attempts == n


def test_malloc_arenas_capped_unless_the_operator_set_them(monkeypatch):
    from porthole.agent import arenas

    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert arenas.limit() is True  # glibc here: mallopt took it
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert arenas.limit() is False  # the operator's value stands
