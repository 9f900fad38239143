"""What a terminal session's shell runs in: a docker exec or a host PTY (from
the session's target and exec spec), and its recorder when the policy records.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import docker

from porthole import errors
from porthole.agent import reconcile, recording, recstore
from porthole.agent.config import AgentConfig
from porthole.agent.events import EventBus
from porthole.agent.pty_docker import DockerExec
from porthole.agent.pty_host import HostShell
from porthole.agent.session import Session
from porthole.agent.shell import TERM, Pty
from porthole.errors import PortholeError


class PtyFactory:
    def __init__(
        self,
        cfg: AgentConfig,
        docker_api: Callable[[], docker.APIClient | None],
        events: EventBus | None = None,
    ) -> None:
        self.cfg = cfg
        self._docker_api = docker_api  # the inventory's Docker client, None when Docker is unreachable
        self._events = events  # recording.capped goes there (audited)

    def make(self, session: Session) -> Pty:
        target, spec, shell = session.target, session.spec, session.shell
        assert spec is not None and shell is not None, "offer accepted without an exec spec"
        # The mark finds this shell again if the agent dies without ending it (reconcile.py).
        env = {**spec.env, **reconcile.mark(self.cfg.device_id, session.id)}
        if target.kind == "host":
            return HostShell(list(spec.cmd), env=env, cols=shell.cols, rows=shell.rows)
        api = self._docker_api()
        if api is None:
            raise PortholeError(errors.EXEC_FAILED, "docker is not reachable")
        return DockerExec(
            api,
            self.cfg.targets.docker_socket,
            target.container_id,
            list(spec.cmd),
            env=env,
            user=spec.user,
            cols=shell.cols,
            rows=shell.rows,
        )

    def recorder_for(self, session: Session) -> Callable[[], recording.Recorder] | None:
        """Makes the session's recorder once its process runs; None when recording is off."""
        rec = self.cfg.recording
        if not rec.enabled or session.shell is None:
            return None
        shell, g = session.shell, session.grant

        def capped(limit: int) -> None:
            if self._events is not None:
                self._events.publish(
                    "recording.capped", session.id, device=g.device_id, user=g.user, target=g.target_id, bytes=limit
                )

        def make() -> recording.Recorder:
            # 0700 folder, 0600 file, at most max_bytes (recstore.py).
            recstore.prepare_dir(rec.dir)
            recstore.precreate(rec.dir / f"{session.id}{recording.PARTIAL_SUFFIX}")
            inner = recording.Recorder(
                rec.dir,
                session.id,
                cols=shell.cols,
                rows=shell.rows,
                record_input=rec.input,
                term=TERM,
                title=f"{g.user}@{g.device_id}/{g.target_id} {session.id}",
            )
            return cast(recording.Recorder, recstore.CappedRecorder(inner, self.cfg.recstore.max_bytes, capped))

        return make
