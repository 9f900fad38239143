"""Who may open what: user → org → device → target, kind and mode.

A user sees and opens only devices of their own org that one of their grants
names (device id glob), and on those only targets that the same grant names
(target id glob) for the kind asked. When several grants match, the strongest
mode wins (interactive over view). Globs are fnmatch-style and case-sensitive.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from porthole import errors, filedirs
from porthole.errors import PortholeError
from porthole.server.config import Config, Device, User, UserGrant

_MODE_RANK = {"view": 0, "interactive": 1}


@dataclass(frozen=True)
class FilePolicy:
    """What a session's grant says about file transfer (grant.sign's files, files_max_bytes, file_dirs)."""

    files: str = "neither"
    files_max_bytes: int = 0
    file_dirs: tuple[str, ...] = filedirs.DEFAULT


def _any(globs: tuple[str, ...], value: str) -> bool:
    return any(fnmatchcase(value, g) for g in globs)


class Policy:
    def __init__(self, config: Config) -> None:
        self._config = config

    def user(self, name: str) -> User | None:
        return self._config.users.get(name)

    def _device_grants(self, user: User, device: Device) -> list[UserGrant]:
        if device.org != user.org:
            return []
        return [g for g in user.grants if _any(g.devices, device.id)]

    def visible_devices(self, user: User) -> list[Device]:
        """Devices of the user's org that at least one grant names, by id."""
        devs = [d for d in self._config.devices.values() if self._device_grants(user, d)]
        return sorted(devs, key=lambda d: d.id)

    def target_visible(self, user: User, device: Device, target_id: str) -> bool:
        return any(_any(g.targets, target_id) for g in self._device_grants(user, device))

    def authorize(self, user: User, device_id: str, target_id: str, kind: str, want_mode: str | None = None) -> str:
        """Returns the mode granted for this target and kind, or raises `denied`.

        An unknown device is `denied` too, so that names cannot be probed.
        """
        device = self._config.devices.get(device_id)
        grants = self._device_grants(user, device) if device is not None else []
        modes = [g.mode for g in grants if kind in g.kinds and _any(g.targets, target_id)]
        if not modes:
            raise PortholeError(errors.DENIED, "you may not open that target")
        best = max(modes, key=_MODE_RANK.__getitem__)
        if want_mode is None:
            return best
        if _MODE_RANK[want_mode] > _MODE_RANK[best]:
            raise PortholeError(errors.DENIED, f"you may not open that target in {want_mode} mode")
        return want_mode

    def files(self, user: User, device_id: str, target_id: str, kind: str, mode: str) -> FilePolicy:
        """File transfer the session may do (grant.FILE_DIRECTIONS), its size cap and its folders:
        the union of the directions and of the folders of every matching grant, the largest cap
        among them. Terminals only; a view-only session never uploads."""
        device = self._config.devices.get(device_id)
        grants = self._device_grants(user, device) if device is not None else []
        up = down = False
        cap = 0
        dirs: list[tuple[str, ...]] = []
        for g in grants:
            if kind != "terminal" or kind not in g.kinds or not _any(g.targets, target_id) or g.files == "neither":
                continue
            up = up or g.files in ("upload", "both")
            down = down or g.files in ("download", "both")
            cap = max(cap, g.file_max_bytes)
            dirs.append(g.file_dirs)
        up = up and mode == "interactive"
        direction = {(True, True): "both", (True, False): "upload", (False, True): "download"}.get((up, down))
        if not direction:
            return FilePolicy()
        return FilePolicy(direction, cap, filedirs.union(dirs))
