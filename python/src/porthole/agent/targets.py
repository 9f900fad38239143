"""The targets this device offers: running Docker containers allowed by the
config, and (only when enabled) a shell on the host itself."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import docker
import docker.errors

from porthole.agent import policy as policy_mod
from porthole.agent.config import TargetsConfig
from porthole.agent.screenconfig import ScreenConfig

log = logging.getLogger("porthole.agent.targets")

HOST_TARGET_ID = "host"
# Docker API calls made for the inventory; a daemon slower than this is reported as unreachable.
DOCKER_TIMEOUT_S = 10
_CONTAINER_ID_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Target:
    id: str
    name: str
    kind: str  # "container", "host" or "screen"
    label: str
    state: str
    container_id: str = ""
    screen: ScreenConfig | None = None  # for kind "screen"

    def to_wire(self) -> dict[str, str]:
        d = asdict(self)
        d.pop("container_id")
        d.pop("screen")
        return d


def own_container_ids() -> set[str]:
    """Ids of the container this agent runs in, if any (never offered as a target)."""
    ids: set[str] = set()
    for name in ("/proc/self/cgroup", "/proc/self/mountinfo"):
        with contextlib.suppress(OSError):
            ids.update(_CONTAINER_ID_RE.findall(Path(name).read_text()))
    return ids


def screen_target(s: ScreenConfig) -> Target:
    """A configured display; "running" while its X socket exists, else "unavailable"."""
    state = "running" if s.socket_path().exists() else "unavailable"
    return Target(id=s.id, name=s.name, kind="screen", label=f"{s.name} (X display {s.display})", state=state, screen=s)


class Inventory:
    def __init__(
        self, cfg: TargetsConfig, policy: policy_mod.Policy | None = None, screens: tuple[ScreenConfig, ...] = ()
    ) -> None:
        self._cfg = cfg
        self._screens = screens
        self._policy = policy or policy_mod.Policy()
        self._targets: dict[str, Target] = {}
        # Running containers that exist but may not be opened, name → why (for target_denied).
        self.excluded: dict[str, str] = {}
        self._own = own_container_ids()
        self.api: docker.APIClient | None = None
        self.docker_error: str | None = None

    def _client(self) -> docker.APIClient:
        if self.api is None:
            self.api = docker.APIClient(
                base_url=f"unix://{self._cfg.docker_socket}", version="auto", timeout=DOCKER_TIMEOUT_S
            )
        return self.api

    def allowed(self, name: str) -> bool:
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self._cfg.containers)

    def _list_containers(self) -> list[Target]:
        out = []
        excluded: dict[str, str] = {}
        for c in self._client().containers(filters={"status": "running"}):
            name = (c.get("Names") or ["/"])[0].lstrip("/")
            if not name:
                continue
            if c["Id"] in self._own:
                excluded[name] = "the agent's own container"
                continue
            if not self.allowed(name):
                excluded[name] = "name not in targets.containers"
                continue
            if not policy_mod.labels_match(self._policy, c.get("Labels")):
                excluded[name] = "no label of policy.labels"
                continue
            image = c.get("Image", "")
            out.append(
                Target(
                    id=name,
                    name=name,
                    kind="container",
                    label=f"{name} ({image})",
                    state=c.get("State", "running"),
                    container_id=c["Id"],
                )
            )
        self.excluded = excluded
        return sorted(out, key=lambda t: t.id)

    async def refresh(self) -> list[Target]:
        targets: list[Target] = []
        if self._cfg.docker:
            try:
                targets += await asyncio.to_thread(self._list_containers)
                if self.docker_error:
                    log.info("docker reachable again")
                self.docker_error = None
            except (docker.errors.DockerException, OSError) as e:
                if self.docker_error is None:
                    log.warning("docker unreachable: %s", e)
                self.docker_error = str(e)
                self.api = None
        if self._cfg.host_shell:
            targets.append(
                Target(
                    id=HOST_TARGET_ID,
                    name="host shell",
                    kind="host",
                    label="Host shell on the device (demo target, not a container)",
                    state="running",
                )
            )
        # Screens last: a screen's id hides a container of the same name.
        targets += [screen_target(s) for s in self._screens]
        self._targets = {t.id: t for t in targets}
        return targets

    def get(self, target_id: str) -> Target | None:
        return self._targets.get(target_id)

    def to_wire(self) -> list[dict[str, str]]:
        return [t.to_wire() for t in self._targets.values()]
