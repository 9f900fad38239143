"""Units of the agent's policy, audit sink, watchdog and recorder (no Docker, no network)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from porthole import audit
from porthole.agent import policy, recording, watchdog
from porthole.errors import ConfigError, PortholeError
from porthole.grant import Grant


def test_policy_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"policy\.allow_root"):
        policy.parse({}, exec_user="root")
    with pytest.raises(ConfigError, match=r"policy\.allow_root"):
        policy.parse({"users": ["0:0"]}, exec_user="65534")
    with pytest.raises(ConfigError, match=r"policy\.idle_timeout_s"):
        policy.parse({"idle_timeout_s": -1}, exec_user="")
    with pytest.raises(ConfigError, match=r"policy\.shells\.Bad Name"):
        policy.parse({"shells": {"Bad Name": ["/bin/sh"]}}, exec_user="")
    with pytest.raises(ConfigError, match=r"policy\.nope"):
        policy.parse({"nope": 1}, exec_user="")
    assert policy.parse({"allow_root": True}, exec_user="root").allow_root


def test_exec_spec_takes_only_allowed_choices():
    p = policy.parse(
        {"users": ["operator"], "shells": {"bash": ["/bin/bash", "-i"]}, "env": {"SITE": "x"}, "env_allow": ["LANG"]},
        exec_user="65534:65534",
    )
    spec = policy.exec_spec(
        p,
        default_cmd=("/bin/sh",),
        default_user="65534:65534",
        term="xterm",
        shell="bash",
        user="operator",
        env={"LANG": "C"},
    )
    assert spec.cmd == ("/bin/bash", "-i") and spec.user == "operator"
    assert spec.env == {"SITE": "x", "TERM": "xterm", "LANG": "C"}
    default = policy.exec_spec(p, default_cmd=("/bin/sh",), default_user="65534:65534", term="xterm")
    assert default.cmd == ("/bin/sh",) and default.user == "65534:65534" and default.shell_name == ""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"shell": "/bin/sh"}, "shell_denied"),
        ({"user": "root"}, "root_denied"),
        ({"user": "0:0"}, "root_denied"),
        ({"user": "daemon"}, "user_denied"),
        ({"env": {"PATH": "/tmp"}}, "env_denied"),
        ({"env": {"LANG": "a\nb"}}, "env_denied"),
        ({"env": "LANG=C"}, "env_denied"),
    ]
    for kw, code in cases:
        with pytest.raises(PortholeError) as e:
            policy.exec_spec(p, default_cmd=("/bin/sh",), default_user="65534:65534", term="xterm", **kw)
        assert e.value.code == code, kw


def test_labels_match():
    p = policy.Policy(labels=("porthole.access=terminal", "debug"))
    assert policy.labels_match(p, {"porthole.access": "terminal"})
    assert policy.labels_match(p, {"debug": ""})
    assert not policy.labels_match(p, {"porthole.access": "screen"})
    assert not policy.labels_match(p, None)
    assert policy.labels_match(policy.Policy(), None)


class _S:
    def __init__(self, started: float, active: float, expires: int) -> None:
        self.started_monotonic, self.last_activity = started, active
        self.grant = Grant("s", "u", "o", "d", "t", "terminal", "interactive", 0, expires)
        self.id, self.ending, self.created = "s_1", False, False


def reason(decision: tuple[str, str] | None) -> str | None:
    return decision[0] if decision is not None else None


def test_watchdog_decisions():
    now, wall = 1000.0, time.time()
    p = policy.Policy(idle_timeout_s=10, max_session_s=100, end_on_grant_expiry=False)
    assert watchdog.due(_S(990, 995, 0), p, now, wall) is None
    assert reason(watchdog.due(_S(990, 989, 0), p, now, wall)) == "idle_timeout"
    assert reason(watchdog.due(_S(899, 999, 0), p, now, wall)) == "max_duration"
    q = policy.Policy(idle_timeout_s=0, max_session_s=0, end_on_grant_expiry=True)
    assert reason(watchdog.due(_S(0, 0, int(wall) - 1), q, now, wall)) == "grant_expired"
    assert watchdog.due(_S(0, 0, int(wall) + 60), q, now, wall) is None
    assert watchdog.tick_s(policy.Policy(idle_timeout_s=2, max_session_s=0)) == 0.5


class _Registry:
    """A session registry whose idle clocks porthole-core would report fresher (or not)."""

    def __init__(self, fresh_activity: float | None) -> None:
        self.s = _S(time.monotonic() - 30, time.monotonic() - 20, 0)
        self.fresh = fresh_activity
        self.refreshed = 0
        self.ended: list[tuple[str, str]] = []

    def snapshots(self) -> list:
        return [] if self.ended else [self.s]

    async def refresh_activity(self, sid: str = "") -> None:
        self.refreshed += 1
        if self.fresh is not None:
            self.s.last_activity = self.fresh

    def end(self, sid: str, code: str, message: str) -> None:
        self.ended.append((sid, code))


async def _tick(reg: _Registry) -> None:
    await watchdog.Watchdog(reg, policy.Policy(idle_timeout_s=10, max_session_s=0)).check()  # type: ignore[arg-type]


async def test_the_watchdog_asks_porthole_core_again_before_ending_an_idle_session():
    busy = _Registry(fresh_activity=time.monotonic())  # the clock was stale: output since
    await _tick(busy)
    assert busy.refreshed >= 1 and busy.ended == []
    idle = _Registry(fresh_activity=None)  # really idle
    await _tick(idle)
    assert idle.ended == [("s_1", "idle_timeout")]


def test_audit_sink_writes_json_lines_and_reports_failures(tmp_path: Path):
    sink = audit.AuditSink(audit.AuditConfig(file=tmp_path / "a" / "audit.jsonl", log=False), source="agent")
    assert sink.emit("session.ended", session_id="s_1", user="alice", reason="exit", skipped=None)
    sink.close()
    rec = json.loads((tmp_path / "a" / "audit.jsonl").read_text())
    assert rec["event_code"] == "PA1003" and rec["source"] == "agent" and "skipped" not in rec
    broken = audit.AuditSink(audit.AuditConfig(file=Path("/dev/full"), log=False, mode="sync"), source="agent")
    assert not broken.emit("session.requested") and broken.last_error
    with pytest.raises(ConfigError, match=r"audit\.mode"):
        audit.parse_config({"mode": "sometimes"}, tmp_path)
    with pytest.raises(ConfigError, match="cannot be turned off"):
        audit.parse_config({"file": "", "log": False}, tmp_path)
    # Sync with the log alone would refuse nothing: it is refused at start.
    with pytest.raises(ConfigError, match=r'audit\.mode: "sync" needs a file'):
        audit.parse_config({"file": "", "mode": "sync"}, tmp_path)
    assert audit.parse_config({"mode": "sync"}, tmp_path).sync  # with the default file it is fine


def test_recorder_keeps_utf8_split_across_chunks(tmp_path: Path):
    r = recording.Recorder(tmp_path, "s_x", cols=80, rows=24, record_input=False, title="t", term="xterm")
    for chunk in (b"A\xc3", b"\xa9\xe2\x82", b"\xacZ"):
        r.output(chunk)
    r.input(b"secret\r")  # not recorded: input is off
    r.resize(100, 30)
    path = r.close()
    assert path is not None
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["version"] == 2
    events = [json.loads(x) for x in lines[1:]]
    assert "".join(d for _, c, d in events if c == "o") == "Aé€Z"
    assert all(c != "i" for _, c, _ in events) and ["r", "100x30"] in [e[1:] for e in events]
    assert not list(tmp_path.glob("*.rec"))


def test_audit_sink_follows_a_rotated_file(tmp_path: Path):
    path = tmp_path / "audit.jsonl"
    sink = audit.AuditSink(audit.AuditConfig(file=path, log=False), source="server")
    sink.emit("login.failed", user="a")
    path.rename(tmp_path / "audit.jsonl.1")  # what logrotate does
    sink.emit("login.failed", user="b")
    sink.close()
    assert json.loads((tmp_path / "audit.jsonl.1").read_text())["user"] == "a"
    assert json.loads(path.read_text())["user"] == "b"
