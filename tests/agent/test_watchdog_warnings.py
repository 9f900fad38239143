"""The watchdog's warnings and extensions (no Docker, no network): which end
is announced and when, what `session:extend` may put off, and that a warning
goes out once and is cleared when the end is no longer near."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from porthole.agent import policy, watchdog
from porthole.grant import Grant

SID = "s_watch000000000000000000"


@dataclasses.dataclass(frozen=True)
class Snap:
    started_monotonic: float
    last_activity: float
    grant: Grant
    id: str = SID
    ending: bool = False
    created: bool = True


def snap(started: float, active: float, *, issued: int = 0, expires: int = 2**40) -> Snap:
    return Snap(started, active, Grant(SID, "u", "o", "d", "t", "terminal", "interactive", issued, expires))


def test_the_earliest_end_inside_its_window_is_announced() -> None:
    now, wall = 10_000.0, 1_800_000_000.0
    p = policy.Policy(idle_timeout_s=900, max_session_s=8 * 3600)
    assert watchdog.upcoming(snap(now - 100, now - 839), p, now, wall) is None  # 61 s left: not yet
    up = watchdog.upcoming(snap(now - 100, now - 850), p, now, wall)
    assert up is not None and (up.reason, up.ends_in_s, up.extendable) == ("idle_timeout", 50, True)
    up = watchdog.upcoming(snap(now - 8 * 3600 + 30, now - 880), p, now, wall)  # max in 30 s, idle in 20 s
    assert up is not None and (up.reason, up.extendable) == ("idle_timeout", True)
    up = watchdog.upcoming(snap(now - 8 * 3600 + 10, now - 880), p, now, wall)  # max in 10 s comes first
    assert up is not None and (up.reason, up.ends_in_s, up.extendable) == ("max_duration", 10, False)
    assert "cannot be extended" in up.message
    # An extension restarts the idle clock.
    assert watchdog.upcoming(snap(now - 100, now - 850), p, now, wall, idle_from=now - 5) is None
    # Short limits are announced at half their length.
    short = policy.Policy(idle_timeout_s=8, max_session_s=0)
    assert watchdog.upcoming(snap(now - 10, now - 3.9), short, now, wall) is None
    assert watchdog.upcoming(snap(now - 10, now - 4.1), short, now, wall) is not None
    # Grant expiry only when the policy ends sessions on it; half of the grant's lifetime at most.
    g = policy.Policy(idle_timeout_s=0, max_session_s=0, end_on_grant_expiry=True)
    s = snap(now, now, issued=int(wall) - 100, expires=int(wall) + 20)
    up = watchdog.upcoming(s, g, now, wall)
    assert up is not None and (up.reason, up.ends_in_s, up.extendable) == ("grant_expired", 20, False)
    assert watchdog.upcoming(s, policy.Policy(idle_timeout_s=0, max_session_s=0), now, wall) is None


class Registry:
    def __init__(self, s: Snap) -> None:
        self.s: Snap | None = s
        self.ended: list[tuple[str, str]] = []

    def snapshots(self) -> list[Snap]:
        return [self.s] if self.s is not None else []

    def get(self, session_id: str) -> Snap | None:
        return self.s if self.s is not None and session_id == self.s.id else None

    def end(self, session_id: str, code: str, message: str) -> None:
        self.ended.append((session_id, code))

    async def refresh_activity(self, sid: str = "") -> None:
        """porthole-core's figures are those of the snapshot already."""


async def test_warnings_go_out_once_and_extending_clears_them() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    async def send(event: str, data: dict[str, Any]) -> None:
        sent.append((event, data))

    now = time.monotonic()
    reg = Registry(snap(now - 100, now - 7))  # idle 8 s: 1 s left
    w = watchdog.Watchdog(reg, policy.Policy(idle_timeout_s=8, max_session_s=0), send=send)  # type: ignore[arg-type]
    await w.check()
    await w.check()  # the same warning is not sent twice
    assert [e for e, _ in sent] == ["session:warning"]
    assert sent[0][1]["reason"] == "idle_timeout" and sent[0][1]["extendable"] is True
    assert 0 < sent[0][1]["ends_in_s"] <= 1

    assert await w.on_extend({"session_id": SID}) == {"ok": True, "idle_timeout_s": 8}
    assert sent[-1] == ("session:warning", {"session_id": SID, "reason": "idle_timeout", "cleared": True})
    await w.check()
    assert reg.ended == [] and len(sent) == 2  # put off: not ended, not warned again yet

    # Activity (typing) clears a warning too.
    reg.s = snap(now - 100, now - 7)
    w.extended.clear()
    await w.check()
    reg.s = snap(now - 100, time.monotonic())
    await w.check()
    assert [d.get("cleared", False) for _, d in sent[2:]] == [False, True]

    assert (await w.on_extend({"session_id": "s_nope"}))["error"]["code"] == "session_not_found"
    assert (await w.on_extend("junk"))["error"]["code"] == "session_not_found"


@pytest.mark.parametrize("limit", ["max_session_s", "grant"])
async def test_a_maximum_length_or_grant_expiry_cannot_be_put_off(limit: str) -> None:
    now, wall = time.monotonic(), time.time()
    if limit == "grant":
        p = policy.Policy(idle_timeout_s=0, max_session_s=0, end_on_grant_expiry=True)
        s = snap(now, now, issued=int(wall) - 100, expires=int(wall) + 10)
    else:
        p = policy.Policy(idle_timeout_s=0, max_session_s=100)
        s = snap(now - 95, now)
    w = watchdog.Watchdog(Registry(s), p)  # type: ignore[arg-type]
    ack = await w.on_extend({"session_id": SID})
    assert ack["ok"] is False and ack["error"]["code"] == "not_extendable", ack
    assert w.extended == {}
