"""Real Docker Engine for tests: client, the target image, throwaway containers.

Fixtures
- ``docker_client`` (session) -> ``docker.DockerClient``; fails (never skips)
  when the engine is not reachable.
- ``target_image`` (session) -> ``str``, the image name (``porthole/target:dev``
  or ``$PORTHOLE_TARGET_IMAGE``), asserted to exist.
- ``make_container`` (function) -> ``ContainerFactory``: call it to get a
  running container; every container it made is force-removed at teardown.

Helpers
- ``container_processes(container) -> list[dict]`` via ``docker top``: each
  ``{"pid": int, "ppid": int, "uid": int, "stat": str, "cmd": str}`` with host
  pids; use it to check that a session left no process behind.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import docker
import docker.errors
import pytest
from docker.models.containers import Container

TARGET_IMAGE = os.environ.get("PORTHOLE_TARGET_IMAGE", "porthole/target:dev")
TEST_LABEL = "porthole.test"  # every container a test makes carries it (value: the pytest pid)
SETUP_HINT = "run `make setup` (scripts/setup.sh, as root) to install and start Docker"


@pytest.fixture(scope="session")
def docker_client():
    try:
        client = docker.from_env(timeout=60)
    except docker.errors.DockerException as exc:
        pytest.fail(f"Docker Engine not reachable ({exc}); {SETUP_HINT}", pytrace=False)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001 - requests' ConnectionError, APIError, ...
        client.close()
        pytest.fail(f"Docker Engine not answering ping ({exc}); {SETUP_HINT}", pytrace=False)
    yield client
    client.close()


@pytest.fixture(scope="session")
def target_image(docker_client) -> str:
    try:
        docker_client.images.get(TARGET_IMAGE)
    except docker.errors.ImageNotFound:
        pytest.fail(
            f"image {TARGET_IMAGE} not found; build it with scripts/build-target-image.sh (make setup does)",
            pytrace=False,
        )
    return TARGET_IMAGE


class ContainerFactory:
    """Starts containers from the target image and removes all of them on ``cleanup()``.

    ``factory(labels=None, name=None, image=None, **run_kwargs) -> Container``:
    a running container, ``--network none``, named ``porthole-test-<random>``
    unless ``name`` is given, labelled ``porthole.test=<pid>`` plus ``labels``.
    ``run_kwargs`` go to ``docker_client.containers.run`` (e.g. ``command``,
    ``user``, ``environment``); ``network_mode`` cannot be changed.
    """

    def __init__(self, client: docker.DockerClient, image: str):
        self.client = client
        self.image = image
        self.made: list[Container] = []

    def __call__(
        self,
        labels: dict[str, str] | None = None,
        name: str | None = None,
        image: str | None = None,
        **run_kwargs: Any,
    ) -> Container:
        if "network_mode" in run_kwargs or "network" in run_kwargs:
            raise ValueError("test containers always run with --network none")
        all_labels = {TEST_LABEL: str(os.getpid()), **(labels or {})}
        container = self.client.containers.run(
            image or self.image,
            name=name or f"porthole-test-{secrets.token_hex(4)}",
            labels=all_labels,
            network_mode="none",
            detach=True,
            **run_kwargs,
        )
        self.made.append(container)
        container.reload()
        if container.status != "running":
            logs = container.logs(tail=20).decode(errors="replace")
            raise AssertionError(f"container {container.name} is {container.status}, not running: {logs}")
        return container

    def cleanup(self) -> None:
        errors = []
        while self.made:
            container = self.made.pop()
            try:
                container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError as exc:
                if "already in progress" not in str(exc):
                    errors.append(f"{container.name}: {exc}")
        if errors:
            raise AssertionError("could not remove test containers: " + "; ".join(errors))


@pytest.fixture
def make_container(docker_client, target_image):
    factory = ContainerFactory(docker_client, target_image)
    yield factory
    factory.cleanup()


TOP_PS_ARGS = "-eo pid,ppid,uid,stat,args"


def container_processes(container: Container) -> list[dict]:
    """The processes running in ``container`` now (``docker top``), host pids.

    Each: ``{"pid": int, "ppid": int, "uid": int, "stat": str, "cmd": str}``.
    ``uid`` is the host uid (the same as in the container: no user namespaces).
    """
    assert container.client is not None and container.id is not None, container  # a container from the API has both
    top = container.client.api.top(container.id, ps_args=TOP_PS_ARGS)
    titles = [t.upper() for t in top["Titles"]]
    expected = ["PID", "PPID", "UID", "STAT", "COMMAND"]
    if titles != expected:
        raise AssertionError(f"docker top gave columns {titles}, expected {expected}")
    return [
        {"pid": int(p[0]), "ppid": int(p[1]), "uid": int(p[2]), "stat": p[3], "cmd": p[4]}
        for p in top.get("Processes") or []
    ]
