"""`porthole ctl doctor`: the device checked end to end, each check ok, fail
or skip with a reason in words — Docker reachable (when Docker targets are
on), the sidecar healthy, the signaling server connected, and a TURN
allocation from the device. For the last the server mints a short-lived
credential (`agent:turn_check`, docs/protocol.md §3) and porthole-core tries
it (Sidecar.TestTurn). No credential is ever part of a reason."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import docker
import docker.errors
import grpc
import socketio

from porthole.agent import iceoffer
from porthole.agent.config import TargetsConfig
from porthole.agent.signaling import NAMESPACE
from porthole.agent.views import LinkView, SidecarView
from porthole.errors import PortholeError
from porthole.rpc.v1 import admin_pb2 as apb
from porthole.rpc.v1 import sidecar_pb2 as pb

OK, FAIL, SKIP = "ok", "fail", "skip"
# Docker answers in milliseconds; a daemon that takes longer is not well (whole seconds: docker-py's type).
DOCKER_TIMEOUT_S = 5
# The server mints the credential at once; over a slow uplink allow a few seconds.
SERVER_CALL_TIMEOUT_S = 5.0
# How long the sidecar may gather: a UDP allocation that gets no answer is
# retransmitted by pion for several seconds before it gives up.
TURN_TEST_TIMEOUT_MS = 10_000
# On top of that, for the gRPC call itself.
TURN_RPC_SLACK_S = 2.0


@dataclass(frozen=True)
class Doctor:
    targets: TargetsConfig
    sidecar: SidecarView
    link: LinkView
    sio: socketio.AsyncClient

    async def run(self, sidecar_health: Callable[[], Awaitable[tuple[str, float]]]) -> apb.DoctorResponse:
        """Every check in order; sidecar_health gives (status, check ms) of the sidecar's gRPC health."""
        checks = []

        async def sidecar_check() -> tuple[str, str]:
            return await self.sidecar_check(sidecar_health)

        for name, check in (
            ("docker", self.docker),
            ("sidecar", sidecar_check),
            ("server", self.server),
            ("turn", self.turn),
        ):
            t0 = time.monotonic()
            status, detail = await check()
            checks.append(
                apb.DoctorCheck(name=name, status=status, detail=detail, elapsed_ms=(time.monotonic() - t0) * 1000)
            )
        return apb.DoctorResponse(ok=all(c.status != FAIL for c in checks), checks=checks)

    async def docker(self) -> tuple[str, str]:
        if not self.targets.docker:
            return SKIP, "Docker targets are off ([targets] docker = false)"
        where = f"unix://{self.targets.docker_socket}"

        def ping() -> str:
            api = docker.APIClient(base_url=where, version="auto", timeout=DOCKER_TIMEOUT_S)
            try:
                return str(api.version().get("Version", "?"))
            finally:
                api.close()

        try:
            version = await asyncio.to_thread(ping)
        except (docker.errors.DockerException, OSError) as e:  # not running, no permission, timeout
            return FAIL, f"Docker at {where} does not answer: {e}"
        return OK, f"Docker {version} answers at {where}"

    async def sidecar_check(self, health: Callable[[], Awaitable[tuple[str, float]]]) -> tuple[str, str]:
        status, ms = await health()
        if not self.sidecar.ready or status != "SERVING":
            return FAIL, f"porthole-core is not healthy: health check {status}, {self.sidecar.restarts} restarts"
        return OK, f"porthole-core serving (pid {self.sidecar.pid}, health check {ms:.1f} ms)"

    async def server(self) -> tuple[str, str]:
        st = self.link.status()
        if st.state == "connected":
            return OK, "connected to the signaling server"
        last = f", last error: {st.last_error}" if st.last_error else ""
        return FAIL, (
            f"not connected to the signaling server: {st.state} for {st.disconnected_s:.0f} s, "
            f"{st.failed_attempts} failed attempts{last}"
        )

    async def turn(self) -> tuple[str, str]:
        if self.link.status().state != "connected":
            return FAIL, "cannot get a TURN credential: not connected to the signaling server"
        try:
            ack = await self.sio.call("agent:turn_check", {}, namespace=NAMESPACE, timeout=SERVER_CALL_TIMEOUT_S)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError) as e:
            return FAIL, f"the server did not give a TURN credential: {type(e).__name__}"
        if not isinstance(ack, dict) or not ack.get("ok"):
            err = ack.get("error", {}) if isinstance(ack, dict) else {}
            return FAIL, f"the server refused a TURN credential: {err.get('code', '?')}: {err.get('message', '')}"
        try:
            servers = iceoffer.parse({"ice_servers": ack.get("ice_servers", [])}).servers
        except PortholeError as e:
            return FAIL, f"the server's TURN servers are malformed: {e.message}"
        urls = [u for s in servers for u in s.urls if u.startswith(("turn:", "turns:"))]
        if not urls:
            return SKIP, "the server has no TURN configured ([server.turn]): sessions connect peer to peer only"
        stub = self.sidecar.stub
        if stub is None or not self.sidecar.ready:
            return FAIL, "cannot test TURN: porthole-core is not running"
        try:
            resp = await stub.TestTurn(
                pb.TestTurnRequest(ice_servers=servers, timeout_ms=TURN_TEST_TIMEOUT_MS),
                timeout=TURN_TEST_TIMEOUT_MS / 1000 + TURN_RPC_SLACK_S,
            )
        except grpc.aio.AioRpcError as e:
            return FAIL, f"porthole-core could not test TURN: {e.code().name}: {e.details()}"
        if resp.relay_candidates:
            got = ", ".join(f"{c.address} via {c.relay_protocol or c.protocol}" for c in resp.relay_candidates)
            return OK, f"allocated on {', '.join(urls)}: relay {got} ({resp.elapsed_ms:.0f} ms)"
        if resp.error:
            why = resp.error
        elif resp.timed_out:
            why = f"no answer within {TURN_TEST_TIMEOUT_MS / 1000:g} s"
        else:
            why = "no relay candidate (unreachable or refused)"
        return FAIL, f"no TURN allocation from this device on {', '.join(urls)}: {why}"
