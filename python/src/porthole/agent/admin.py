"""The agent's admin gRPC API and its Prometheus endpoint: what `porthole ctl`
talks to (docs/ctl.md).

`AdminServer(...)` is built with the agent (so its metrics see every event) and
gets narrow views of it (views.py), never the agent itself;
`start()` listens on the unix socket (mode 0600 in a 0700 folder), on the
optional mutual-TLS TCP port and on the optional metrics port; `stop()` undoes
it. The RPCs themselves are in admin_rpc.py.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import time
from pathlib import Path

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from porthole.agent import adminconfig
from porthole.agent.admin_rpc import SIDECAR_RPC_TIMEOUT_S, AdminService
from porthole.agent.metrics import CONTENT_TYPE, AgentMetrics
from porthole.agent.sidecar import SERVICE_NAME as SIDECAR_SERVICE
from porthole.agent.views import AgentViews
from porthole.errors import ConfigError
from porthole.rpc.v1 import admin_pb2 as apb
from porthole.rpc.v1 import admin_pb2_grpc

log = logging.getLogger("porthole.agent.admin")

# Stop: in-flight calls get this long, then watchers are cancelled.
STOP_GRACE_S = 1.0


class AdminServer:
    """The admin API's listeners and the metrics endpoint of one agent."""

    def __init__(self, cfg: adminconfig.AdminConfig, agent: AgentViews) -> None:
        self.agent = agent
        self.cfg = cfg
        self.metrics = AgentMetrics(agent)
        self._server: grpc.aio.Server | None = None
        self._socket: Path | None = None
        self._metrics_runner: web.AppRunner | None = None
        self._sidecar_channel: grpc.aio.Channel | None = None
        self.socket_address = ""
        self.tls_address = ""
        self.metrics_address = ""

    async def start(self) -> None:
        if self.cfg.metrics_listen:
            await self._start_metrics()
        if not self.cfg.enabled:
            log.info("admin API disabled ([admin] enabled = false)")
            return
        server = grpc.aio.server()
        admin_pb2_grpc.add_AdminServicer_to_server(AdminService(self.agent, self.metrics, self), server)
        # Reflection, so grpcurl can list and call the admin API too (docs/ctl.md).
        reflection.enable_server_reflection(
            (apb.DESCRIPTOR.services_by_name["Admin"].full_name, reflection.SERVICE_NAME), server
        )
        path = self._prepare_socket()
        if path is not None:
            old = os.umask(0o177)  # the socket is born 0600; chmod below makes sure
            try:
                server.add_insecure_port(f"unix:{path}")
            finally:
                os.umask(old)
            self._socket = path
        if self.cfg.listen:
            port = server.add_secure_port(self.cfg.listen, self._tls_credentials())
            host, _ = adminconfig.parse_hostport(self.cfg.listen, "admin.listen")
            self.tls_address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if path is None and not self.cfg.listen:
            return
        await server.start()
        self._server = server
        if path is not None:
            os.chmod(path, 0o600)
            self.socket_address = str(path)
            log.info("admin API on unix:%s", path)
        if self.tls_address:
            log.info("admin API on %s (mutual TLS)", self.tls_address)

    def _prepare_socket(self) -> Path | None:
        """Makes the socket's folder (0700) and clears a stale socket; None when the default one is taken."""
        path = self.cfg.socket_path
        folder = path.parent
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
        elif self.cfg.socket_is_default:
            st = folder.stat()
            if st.st_uid != os.geteuid() or st.st_mode & 0o022:
                raise ConfigError(
                    f"admin.socket: {folder} is not ours or is writable by others; set [admin] socket to a safe path"
                )
        if path.exists() or path.is_symlink():
            if not stat.S_ISSOCK(path.lstat().st_mode):
                raise ConfigError(f"admin.socket: {path} exists and is not a socket")
            if _socket_alive(path):
                if self.cfg.socket_is_default:
                    log.error("admin API off: another agent serves %s; set [admin] socket for this one", path)
                    return None
                raise ConfigError(f"admin.socket: another process serves {path}")
            path.unlink()
        return path

    def _tls_credentials(self) -> grpc.ServerCredentials:
        c = self.cfg
        assert c.tls_cert and c.tls_key and c.tls_client_ca
        try:
            key, cert, ca = c.tls_key.read_bytes(), c.tls_cert.read_bytes(), c.tls_client_ca.read_bytes()
        except OSError as e:
            raise ConfigError(f"admin TLS files: cannot read {e.filename}: {e.strerror}") from e
        return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=True)

    async def _start_metrics(self) -> None:
        host, port = adminconfig.parse_hostport(self.cfg.metrics_listen, "admin.metrics_listen")
        if not adminconfig.is_loopback(host):
            log.warning("metrics on a non-loopback address %s: anyone who reaches it sees session counts", host)
        app = web.Application()
        app.router.add_get("/metrics", self._metrics_handler)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._metrics_runner = runner
        server = getattr(site, "_server", None)
        for s in getattr(server, "sockets", None) or []:
            port = s.getsockname()[1]
            break
        self.metrics_address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        log.info("metrics on http://%s/metrics", self.metrics_address)

    async def _metrics_handler(self, request: web.Request) -> web.Response:
        body = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def check_sidecar(self) -> tuple[str, float]:
        """The sidecar's own health check, on a channel of our own: (status, milliseconds)."""
        if self._sidecar_channel is None:
            self._sidecar_channel = grpc.aio.insecure_channel(f"unix://{self.agent.sidecar_socket}")
        stub = health_pb2_grpc.HealthStub(self._sidecar_channel)
        t0 = time.monotonic()
        try:
            resp = await stub.Check(
                health_pb2.HealthCheckRequest(service=SIDECAR_SERVICE), timeout=SIDECAR_RPC_TIMEOUT_S
            )
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
        except grpc.aio.AioRpcError as e:
            status = e.code().name
        return status, (time.monotonic() - t0) * 1000

    async def stop(self) -> None:
        """Stops every listener (idempotent); watchers' streams end."""
        server, self._server = self._server, None
        if server is not None:
            await server.stop(STOP_GRACE_S)
        if self._socket is not None:
            with contextlib.suppress(FileNotFoundError):
                self._socket.unlink()
            self._socket = None
        runner, self._metrics_runner = self._metrics_runner, None
        if runner is not None:
            await runner.cleanup()
        channel, self._sidecar_channel = self._sidecar_channel, None
        if channel is not None:
            await channel.close()
        self.metrics.close()


def _socket_alive(path: Path) -> bool:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(1.0)
        s.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        s.close()
