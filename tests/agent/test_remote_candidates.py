"""A client cannot point porthole-core's ICE checks at the device's own services
(issue 14, 7; core-go/internal/rtc/remote_filter.go).

In this test's private network namespace we put listeners where an attacker
would aim: 127.0.0.1, 169.254.169.254 (cloud metadata) and a Docker-like bridge
(`docker9`, a veth with 172.31.99.1/24). An aiortc client offers candidates there, in its
offer and trickled over gRPC, next to its real one. The session connects over
the real candidate; by default no STUN packet reaches any listener. With
`--ice-remote-allow 127.0.0.0/8` the loopback listeners get checks (so the
attack is real and the test can fail) and the others still get none."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from porthole.agent import config as agent_config
from porthole.errors import ConfigError
from porthole.rpc.v1 import sidecar_pb2 as pb
from porthole.rpc.v1 import sidecar_pb2_grpc
from tests.support.rtc_client import TerminalClient
from tests.support.stack import core_binary, ice_iface
from tests.support.waiting import async_wait_for

METADATA = "169.254.169.254"
BRIDGE, BRIDGE_IP = "docker9", "172.31.99.1"
TARGETS = ("127.0.0.1", METADATA, BRIDGE_IP)
STUN_MAGIC = b"\x21\x12\xa4\x42"  # bytes 4..8 of every STUN message


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def targets() -> Iterator[dict[tuple[str, str], socket.socket]]:
    """{(address, "offer" | "trickle"): UDP socket} on the addresses an attacker would aim at."""
    assert os.environ.get("PORTHOLE_TEST_NETNS") == "1", "run through make test-py (a private network namespace)"
    socks = {}
    try:
        ip("addr", "add", f"{METADATA}/32", "dev", "lo")
        ip("link", "add", BRIDGE, "type", "veth", "peer", "name", BRIDGE + "p")
        ip("addr", "add", f"{BRIDGE_IP}/24", "dev", BRIDGE)
        ip("link", "set", BRIDGE + "p", "up")
        ip("link", "set", BRIDGE, "up")
        for addr in TARGETS:
            for via in ("offer", "trickle"):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind((addr, 0))
                s.setblocking(False)
                socks[(addr, via)] = s
        yield socks
    finally:
        for s in socks.values():
            s.close()
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
        subprocess.run(["ip", "addr", "del", f"{METADATA}/32", "dev", "lo"], capture_output=True)


def stun_received(s: socket.socket) -> int:
    n = 0
    while True:
        try:
            data = s.recv(2048)
        except BlockingIOError:
            return n
        n += data[4:8] == STUN_MAGIC


def cand(i: int, addr: str, port: int) -> str:
    return f"candidate:{9000 + i} 1 udp 2130706431 {addr} {port} typ host"


async def attack(tmp_path: Path, targets: dict, extra_args: list[str]) -> dict[tuple[str, str], int]:
    """One session whose client also offers (and trickles) every target; STUN packets each target got."""
    sock = tmp_path / "core.sock"
    with (tmp_path / "core.log").open("wb") as log:
        proc = subprocess.Popen(
            [core_binary(), "--listen", str(sock), "--ice-interfaces", ice_iface(), *extra_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    await async_wait_for(lambda: sock.exists() or None, 10, message="porthole-core's socket")
    channel = grpc.aio.insecure_channel(f"unix:{sock}")
    stub = sidecar_pb2_grpc.SidecarStub(channel)
    client = TerminalClient()
    try:
        offer = await client.offer()
        extra = "".join(
            f"a={cand(i, addr, s.getsockname()[1])}\r\n"
            for i, ((addr, via), s) in enumerate(targets.items())
            if via == "offer"
        )
        head, sep, tail = offer.partition("a=end-of-candidates")
        assert sep, offer
        resp = await stub.CreateSession(
            pb.CreateSessionRequest(session_id="s_probe", offer_sdp=head + extra + sep + tail, kind="terminal"),
            timeout=10,
        )
        for i, ((addr, via), s) in enumerate(targets.items()):
            if via == "trickle":
                c = pb.IceCandidate(candidate=cand(i, addr, s.getsockname()[1]), sdp_mid="0", sdp_mline_index=0)
                await stub.AddRemoteCandidate(pb.AddRemoteCandidateRequest(session_id="s_probe", candidate=c))
        await client.accept(resp.answer_sdp)
        async with asyncio.timeout(20):
            await client.opened.wait()  # over the client's real candidate
        got = dict.fromkeys(targets, 0)

        def poll() -> dict | None:
            for k, s in targets.items():
                got[k] += stun_received(s)
            allowed = [k for k in targets if k[0] == "127.0.0.1"] if extra_args else []
            return got if all(got[k] for k in allowed) else None

        if extra_args:  # the allowed targets get checks: wait for them
            await async_wait_for(poll, 20, message="STUN checks to the allowed loopback candidates")
        # Checks to the candidates porthole-core took are sent at once and repeated; give the
        # refused ones the same chance.
        await asyncio.sleep(2)
        poll()
        return got
    finally:
        await client.pc.close()
        await channel.close()
        assert proc.stdin is not None
        proc.stdin.close()  # porthole-core exits when its stdin closes
        proc.wait(10)


async def test_by_default_no_check_reaches_loopback_metadata_or_bridges(tmp_path: Path, targets) -> None:
    got = await attack(tmp_path, targets, [])
    assert all(n == 0 for n in got.values()), got
    log = (tmp_path / "core.log").read_text()
    for addr in TARGETS:
        assert f'"address":"{addr}"' in log, f"no refusal logged for {addr}"


async def test_allowed_ranges_are_checked_and_only_those(tmp_path: Path, targets) -> None:
    got = await attack(tmp_path, targets, ["--ice-remote-allow", "127.0.0.0/8"])
    assert got[("127.0.0.1", "offer")] > 0 and got[("127.0.0.1", "trickle")] > 0, got
    assert all(n == 0 for (addr, _), n in got.items() if addr != "127.0.0.1"), got


def test_agent_config_passes_ice_remote_allow(tmp_path: Path) -> None:
    def load(sidecar: dict):
        return agent_config.from_dict(
            {
                "agent": {
                    "device_id": "d1",
                    "server_url": "http://127.0.0.1:1",
                    "secret_file": "s",
                    "grant_public_key": "k",
                },
                "sidecar": sidecar,
            },
            base=tmp_path,
        )

    argv = load({"ice_remote_allow": ["127.0.0.0/8", "fd00::/8"]}).sidecar.argv()
    assert argv[argv.index("--ice-remote-allow") + 1] == "127.0.0.0/8,fd00::/8"
    assert "--ice-remote-allow" not in load({}).sidecar.argv()
    with pytest.raises(ConfigError, match="ice_remote_allow"):
        load({"ice_remote_allow": ["localhost"]})
