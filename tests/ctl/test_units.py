"""Small parts of the admin API and ctl that need no agent: the [admin]
config section, JSON rendering of answers, event field scrubbing."""

from __future__ import annotations

from pathlib import Path

import pytest

from porthole.agent import adminconfig
from porthole.agent.admin_rpc import event_to_proto
from porthole.agent.events import Event
from porthole.ctl import render
from porthole.errors import ConfigError
from porthole.rpc.v1 import admin_pb2 as apb


def rel(p: str) -> Path:
    return Path("/etc/porthole") / p


@pytest.mark.parametrize(
    "table,message",
    [
        ({"listen": "127.0.0.1:7443"}, "admin.listen needs admin.tls_cert, admin.tls_key, admin.tls_client_ca"),
        ({"listen": "127.0.0.1:7443", "tls_cert": "a", "tls_key": "b"}, "admin.listen needs admin.tls_client_ca"),
        ({"listen": "nohostport"}, "admin.listen: expected HOST:PORT"),
        ({"metrics_listen": "127.0.0.1:99999"}, "admin.metrics_listen: expected HOST:PORT"),
        ({"socket": 5}, "admin.socket: expected str"),
        ({"enabled": "yes"}, "admin.enabled: expected bool"),
        ({"sokcet": "x"}, "admin: unknown key(s): sokcet"),
    ],
)
def test_admin_config_mistakes_name_the_key(table, message):
    with pytest.raises(ConfigError) as e:
        adminconfig.from_table(table, rel)
    assert message in e.value.message


def test_admin_config_paths_and_defaults(monkeypatch):
    c = adminconfig.from_table(
        {
            "socket": "admin.sock",
            "listen": "[::1]:0",
            "tls_cert": "c.pem",
            "tls_key": "k.pem",
            "tls_client_ca": "ca.pem",
            "metrics_listen": "127.0.0.1:9464",
        },
        rel,
    )
    assert c.socket_path == Path("/etc/porthole/admin.sock") and not c.socket_is_default
    assert c.tls_client_ca == Path("/etc/porthole/ca.pem")
    assert adminconfig.parse_hostport(c.listen, "x") == ("::1", 0)
    monkeypatch.delenv(adminconfig.SOCKET_ENV, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    d = adminconfig.from_table({}, rel)
    assert d.socket_path == Path("/run/user/1000/porthole/admin.sock") and d.socket_is_default
    monkeypatch.setenv(adminconfig.SOCKET_ENV, "/srv/agent.sock")
    assert d.socket_path == Path("/srv/agent.sock") and not d.socket_is_default


def test_events_never_carry_secrets_or_ufrags():
    ev = Event(
        "session.candidate",
        "s_1",
        {
            "side": "local",
            "grant": "eyJ.x.y",
            "sdp": "v=0",
            "token": "t",
            "candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host ufrag AbCd generation 0",
        },
    )
    msg = event_to_proto(ev)
    d = render.to_dict(msg)
    assert d["fields"] == {
        "side": "local",
        "candidate": "candidate:1 1 udp 1 10.0.0.1 5000 typ host ufrag <redacted> generation 0",
    }
    assert d["session_id"] == "s_1" and d["time_unix_micros"] == int(ev.ts * 1_000_000)


def test_json_keeps_every_field_and_64_bit_numbers_as_numbers():
    s = apb.SessionInfo(session_id="s_1", age_ms=2**40, bytes_to_peer=2**63)
    d = render.to_dict(s)
    assert d["age_ms"] == 2**40 and d["bytes_to_peer"] == 2**63  # the proto3 JSON mapping would make strings
    assert d["transport"] is None and d["exec_id"] == "" and d["pid"] == 0
    st = render.to_dict(apb.AgentStats(failed_by_reason={"b": 2, "a": 1}))
    assert st["failed_by_reason"] == {"a": 1, "b": 2} and st["open_by_kind"] == {}


def test_tables_and_units():
    assert render.human_bytes(5) == "5 B" and render.human_bytes(1536) == "1.5 KiB"
    assert render.human_duration(783) == "783ms" and render.human_duration(61_000) == "1m01s"
    assert render.table(["A", "LONG"], [["xx", 1]]) == "A   LONG\nxx  1"
    assert render.sessions(apb.ListSessionsResponse()) == "no live sessions"


def test_health_shows_how_long_signaling_is_down():
    up = apb.HealthResponse(signaling_connected=True, signaling_state="connected", server_url="http://s:1")
    assert "connected (http://s:1)" in render.health(up)
    down = apb.HealthResponse(
        signaling_state="disconnected",
        signaling_disconnected_ms=75_000,
        signaling_failed_attempts=4,
        signaling_last_error="unauthenticated",
        server_url="http://s:1",
    )
    line = next(ln for ln in render.health(down).splitlines() if "signaling" in ln)
    assert "disconnected for 1m15s, 4 failed attempts, last error unauthenticated (http://s:1)" in line


@pytest.mark.parametrize("hostile", ["\x1b[2J\x1b]0;pwned\x07", "a\rb", "x\x7fy", "\x9b31m", "tab\there"])
def test_watch_lines_never_carry_control_characters(hostile):
    # A field a client can influence (a reason, a candidate) must not drive the operator's terminal.
    line = render.event(event_to_proto(Event("session.ended", "s_1", {"reason": hostile, "code": "x"})))
    assert line.isprintable(), repr(line)
    assert "reason=" in line and "\x1b" not in line and "\x7f" not in line
