"""[[screens]] in the agent config: what is accepted, what is refused and how,
and the options a grant turns into."""

from __future__ import annotations

import pytest

from porthole import grant
from porthole.agent import screenconfig
from porthole.agent.screen import ScreenSession
from porthole.agent.targets import screen_target
from porthole.errors import ConfigError


def test_defaults_and_socket_state(tmp_path, monkeypatch):
    (s,) = screenconfig.parse([{"id": "desk", "display": ":4711"}])
    assert (s.name, s.width, s.height, s.fps, s.min_bitrate_kbps, s.max_bitrate_kbps) == (
        "desk",
        1280,
        720,
        30,
        300,
        4000,
    )
    monkeypatch.setattr(screenconfig, "X11_SOCKET_DIR", tmp_path)
    assert screen_target(s).state == "unavailable"
    (tmp_path / "X4711").touch()
    t = screen_target(s)
    assert t.state == "running" and t.kind == "screen"
    assert t.to_wire() == {
        "id": "desk",
        "name": "desk",
        "kind": "screen",
        "label": "desk (X display :4711)",
        "state": "running",
    }


@pytest.mark.parametrize(
    "raw, where",
    [
        ({"screens": 1}, "screens:"),
        ([{"display": ":1"}], "screens[0].id"),
        ([{"id": "a b", "display": ":1"}], "screens[0].id"),
        ([{"id": "a", "display": "remote:1"}], "screens[0].display"),
        ([{"id": "a", "display": ":1", "width": 641}], "screens[0].width"),
        ([{"id": "a", "display": ":1", "fps": 0}], "screens[0].fps"),
        ([{"id": "a", "display": ":1", "min_bitrate_kbps": 5000, "max_bitrate_kbps": 1000}], "min_bitrate_kbps"),
        ([{"id": "a", "display": ":1", "colour": "red"}], "unknown key"),
        ([{"id": "a", "display": ":1"}, {"id": "a", "display": ":2"}], "unique"),
    ],
)
def test_refused_with_the_key_named(raw, where):
    with pytest.raises(ConfigError) as e:
        screenconfig.parse(raw["screens"] if isinstance(raw, dict) else raw)
    assert where in e.value.message and e.value.code == "config_invalid"


@pytest.mark.parametrize("mode, allow", [("interactive", True), ("view", False)])
def test_input_follows_the_grant_mode(mode, allow):
    (s,) = screenconfig.parse([{"id": "desk", "display": ":9", "width": 640, "height": 360, "fps": 15}])
    g = grant.Grant(
        session_id="s1",
        user="u",
        org="o",
        device_id="d",
        target_id="desk",
        kind="screen",
        mode=mode,
        issued_at=0,
        expires_at=60,
    )
    req = ScreenSession("s1", g, screen_target(s)).create_request("v=0")
    assert (req.kind, req.screen.display, req.screen.width, req.screen.height, req.screen.fps) == (
        "screen",
        ":9",
        640,
        360,
        15,
    )
    assert req.screen.allow_input is allow
    assert req.screen.allow_clipboard_read is allow, "the remote clipboard is read for interactive grants only"
