"""The sidecar's gRPC API (and the agent's admin API) are discoverable through
server reflection, as grpcurl uses it (`grpcurl -plaintext -unix <core.sock>
list`; docs/ctl.md).
grpcurl is not packaged for Debian, so the test uses grpcio-reflection's
client, which speaks the same reflection protocol."""

from __future__ import annotations

import subprocess
import time

import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from tests.support.stack import core_binary

START_TIMEOUT_S = 15.0


def test_reflection_lists_and_describes_the_sidecar(tmp_path):
    sock = tmp_path / "core.sock"
    proc = subprocess.Popen(
        [core_binary(), "--listen", str(sock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None  # stdin=PIPE
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not sock.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "porthole-core did not start"
            time.sleep(0.05)
        with grpc.insecure_channel(f"unix:{sock}") as channel:
            grpc.channel_ready_future(channel).result(timeout=START_TIMEOUT_S)
            db = ProtoReflectionDescriptorDatabase(channel)
            services = set(db.get_services())
            assert "porthole.rpc.v1.Sidecar" in services, services
            assert "grpc.health.v1.Health" in services, services
            # As `grpcurl describe porthole.rpc.v1.Sidecar` does: the full schema comes over the wire.
            pool = DescriptorPool(db)
            svc = pool.FindServiceByName("porthole.rpc.v1.Sidecar")
            assert {"CreateSession", "AddRemoteCandidate", "WatchEvents", "Terminal", "CloseSession", "GetStats"} <= {
                m.name for m in svc.methods
            }
            stats = pool.FindMessageTypeByName("porthole.rpc.v1.SessionStats")
            assert "rtt_ms" in stats.fields_by_name
    finally:
        proc.stdin.close()  # the sidecar exits when its stdin closes
        proc.wait(timeout=10)
    assert proc.returncode == 0


async def test_reflection_on_the_admin_api(agent):
    from tests.ctl.test_ctl import admin_socket

    with grpc.insecure_channel(f"unix:{admin_socket(agent)}") as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        assert "porthole.rpc.v1.Admin" in set(db.get_services())
        svc = DescriptorPool(db).FindServiceByName("porthole.rpc.v1.Admin")
        assert {m.name for m in svc.methods} == {
            "ListSessions",
            "GetSession",
            "WatchEvents",
            "CloseSession",
            "GetStats",
            "Health",
            "Diagnose",
            "Doctor",
        }
