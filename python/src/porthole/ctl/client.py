"""The connection to the agent's admin API, and gRPC errors turned into
messages a person can act on, each with its exit code."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from porthole.rpc.v1 import admin_pb2_grpc

# Exit codes of `porthole ctl` (docs/ctl.md).
EXIT_OK = 0
EXIT_FAILED = 1  # the call answered with an error (no such session, ...) or health is not ok
EXIT_USAGE = 2  # bad arguments (argparse)
EXIT_UNREACHABLE = 3  # no agent at that address, or it did not answer in time
EXIT_DENIED = 4  # permission denied on the socket, or TLS refused us


class CtlError(Exception):
    """A failure to report on stderr as `porthole ctl: <message>`, with an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


@dataclass(frozen=True)
class Endpoint:
    """Where the agent's admin API is: a unix socket, or host:port with mutual TLS."""

    socket: Path | None = None
    target: str = ""
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_server_name: str = ""

    def describe(self) -> str:
        return str(self.socket) if self.socket else self.target

    def channel(self) -> grpc.Channel:
        if self.socket is not None:
            self._check_socket()
            return grpc.insecure_channel(f"unix:{self.socket.absolute()}")
        try:
            ca = self.tls_ca.read_bytes() if self.tls_ca else None
            cert = self.tls_cert.read_bytes() if self.tls_cert else None
            key = self.tls_key.read_bytes() if self.tls_key else None
        except OSError as e:
            raise CtlError(f"cannot read {e.filename}: {e.strerror}", EXIT_USAGE) from e
        creds = grpc.ssl_channel_credentials(root_certificates=ca, private_key=key, certificate_chain=cert)
        options = [("grpc.ssl_target_name_override", self.tls_server_name)] if self.tls_server_name else []
        return grpc.secure_channel(self.target, creds, options=options)

    def _check_socket(self) -> None:
        """Clear errors before gRPC's generic UNAVAILABLE: missing socket, no permission."""
        path = self.socket
        assert path is not None
        try:
            path.stat()
        except PermissionError:
            raise CtlError(f"permission denied on {path}: run as the agent's user (or root)", EXIT_DENIED) from None
        except OSError:
            raise CtlError(
                f"cannot reach the agent at {path}: is `porthole agent` running? "
                "(no socket there; see --socket and [admin] socket)",
                EXIT_UNREACHABLE,
            ) from None
        if not os.access(path, os.R_OK | os.W_OK):
            raise CtlError(f"permission denied on {path}: run as the agent's user (or root)", EXIT_DENIED)

    def stub(self) -> tuple[grpc.Channel, admin_pb2_grpc.AdminStub]:
        ch = self.channel()
        return ch, admin_pb2_grpc.AdminStub(ch)

    def explain(self, e: grpc.RpcError, timeout: float) -> CtlError:
        """A gRPC failure → what to tell the person."""
        code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
        details = (e.details() if hasattr(e, "details") else "") or ""
        where = self.describe()
        if code == grpc.StatusCode.UNAVAILABLE:
            low = details.lower()
            if "permission denied" in low:
                return CtlError(f"permission denied on {where}: run as the agent's user (or root)", EXIT_DENIED)
            if self.target and any(w in low for w in ("ssl", "tls", "handshake", "certificate")):
                return CtlError(f"TLS with the agent at {where} failed: {details}", EXIT_DENIED)
            if self.socket is not None:
                return CtlError(
                    f"cannot reach the agent at {where}: is `porthole agent` running? ({details})", EXIT_UNREACHABLE
                )
            # A client certificate the agent refuses looks like a closed socket from here.
            return CtlError(
                f"cannot reach the agent at {where} over mutual TLS: {details} (is it running, and does "
                "it accept this --tls-cert? see [admin] tls_client_ca)",
                EXIT_UNREACHABLE,
            )
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return CtlError(f"the agent at {where} did not answer within {timeout:g} s", EXIT_UNREACHABLE)
        if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            return CtlError(f"the agent at {where} refused: {details}", EXIT_DENIED)
        if code == grpc.StatusCode.NOT_FOUND:
            return CtlError(details or "not found", EXIT_FAILED)
        if code == grpc.StatusCode.UNIMPLEMENTED:
            return CtlError(f"the agent at {where} does not serve this call (an older agent?): {details}", EXIT_FAILED)
        return CtlError(f"{code.name.lower()}: {details}", EXIT_FAILED)
