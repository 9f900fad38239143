"""The `[[screens]]` tables of the agent config: X displays offered as screen targets.

    [[screens]]
    id = "desk"               # target id, unique among targets
    name = "Lab desktop"      # shown in the picker (default: the id)
    display = ":99"           # $DISPLAY as the sidecar sees it
    width = 1280              # video size (default 1280x720); the display is scaled to it
    height = 720
    fps = 30                  # 1..60
    min_bitrate_kbps = 300    # congestion control moves the bitrate between these
    max_bitrate_kbps = 4000

See docs/configuration.md (screens) for sharing a container's Xvfb.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from porthole.errors import ConfigError

SCREEN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# ":N" or ":N.S", optionally "unix" in front: a local display, which MIT-SHM needs.
DISPLAY_RE = re.compile(r"^(unix)?:\d{1,5}(\.\d{1,3})?$")
X11_SOCKET_DIR = Path("/tmp/.X11-unix")
MAX_SCREENS = 64

KEYS = {"id", "name", "display", "width", "height", "fps", "min_bitrate_kbps", "max_bitrate_kbps"}


@dataclass(frozen=True)
class ScreenConfig:
    id: str
    name: str
    display: str
    width: int = 1280
    height: int = 720
    fps: int = 30
    min_bitrate_kbps: int = 300
    max_bitrate_kbps: int = 4000

    def socket_path(self) -> Path:
        """The X server's unix socket; its presence is the target's state."""
        number = self.display.split(":", 1)[1].split(".", 1)[0]
        return X11_SOCKET_DIR / f"X{number}"


def _int(t: dict, key: str, where: str, default: int, lo: int, hi: int, even: bool = False) -> int:
    v = t.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi or (even and v % 2):
        raise ConfigError(f"{where}.{key}: {'an even ' if even else ''}integer {lo}..{hi}")
    return v


def parse(raw: object) -> tuple[ScreenConfig, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or len(raw) > MAX_SCREENS:
        raise ConfigError(f"screens: an array of at most {MAX_SCREENS} tables ([[screens]])")
    out: list[ScreenConfig] = []
    for i, t in enumerate(raw):
        where = f"screens[{i}]"
        if not isinstance(t, dict):
            raise ConfigError(f"{where}: expected a table")
        unknown = set(t) - KEYS
        if unknown:
            raise ConfigError(f"{where}: unknown key(s): {', '.join(sorted(unknown))}")
        sid, display = t.get("id"), t.get("display")
        if not isinstance(sid, str) or not SCREEN_ID_RE.match(sid):
            raise ConfigError(f"{where}.id: 1-64 of [A-Za-z0-9_.-], starting with a letter or digit")
        if not isinstance(display, str) or not DISPLAY_RE.match(display):
            raise ConfigError(f'{where}.display: a local X display such as ":99"')
        name = t.get("name", sid)
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise ConfigError(f"{where}.name: a string of 1..128 characters")
        lo = _int(t, "min_bitrate_kbps", where, 300, 100, 50000)
        hi = _int(t, "max_bitrate_kbps", where, max(4000, lo), 100, 50000)
        if lo > hi:
            raise ConfigError(f"{where}: min_bitrate_kbps above max_bitrate_kbps")
        out.append(
            ScreenConfig(
                id=sid,
                name=name,
                display=display,
                width=_int(t, "width", where, 1280, 64, 3840, even=True),
                height=_int(t, "height", where, 720, 64, 2160, even=True),
                fps=_int(t, "fps", where, 30, 1, 60),
                min_bitrate_kbps=lo,
                max_bitrate_kbps=hi,
            )
        )
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids):
        raise ConfigError("screens: ids must be unique")
    return tuple(out)
