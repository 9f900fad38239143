"""The shipped coturn config with credentials minted by porthole.turn, against
a real coturn, with aioice's TURN client as the independent client: minted
credentials allocate over UDP and TCP; expired or forged ones get 401; the
relay refuses loopback and private ranges a deployment did not allow (403)
and nothing reaches them."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess

import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint

from porthole import turn
from tests.support.coturn import start_coturn

ALLOWED = "10.213.0.0-10.213.255.255"  # the test namespaces: what this "deployment" allows


@pytest.fixture
def coturn(tmp_path, test_ip):
    c = start_coturn(tmp_path, test_ip, allowed_peers=(ALLOWED,))
    yield c
    c.stop()


@pytest.fixture
def peer_ip():
    """An address of the allowed range that is not the TURN host's own (coturn refuses to relay
    to itself): on lo, so no stack that gathers on the test interface ever sees it."""
    ip = f"10.213.250.{os.getpid() % 250 + 1}"
    subprocess.run(["ip", "addr", "add", f"{ip}/32", "dev", "lo"], check=True)
    yield ip
    subprocess.run(["ip", "addr", "del", f"{ip}/32", "dev", "lo"], check=False)


class Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data, addr) -> None:
        self.got.put_nowait(data)


async def allocate(c, cred: turn.TurnCredential, transport: str = "udp"):
    return await create_turn_endpoint(
        Sink, (c.ip, c.port), cred.username, cred.credential, transport=transport, lifetime=60
    )


def error_code(e: stun.TransactionFailed) -> int:
    return e.response.attributes["ERROR-CODE"][0]


def udp_listener(ip: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, 0))
    s.settimeout(2)
    return s


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_minted_credential_allocates_and_relays(coturn, peer_ip, transport):
    peer = udp_listener(peer_ip)
    cred = coturn.mint()
    t, _ = await allocate(coturn, cred, transport)
    try:
        assert t.get_extra_info("related_address") is not None
        # The secrets scan learns every credential that reached coturn, whoever minted it.
        assert cred.credential in coturn.used_credentials()
        t.sendto(b"through-the-relay", peer.getsockname())
        data, src = await asyncio.to_thread(peer.recvfrom, 100)
        assert data == b"through-the-relay"
        assert src[0] == coturn.ip and src[1] != peer.getsockname()[1]  # from the relay's port
    finally:
        t.close()
        peer.close()


async def test_expired_credential_is_refused(coturn):
    cred = turn.mint(coturn.secret, "alice", coturn.urls, expires_at=1_000_000)  # 1970
    with pytest.raises(stun.TransactionFailed) as e:
        await allocate(coturn, cred)
    assert error_code(e.value) == 401


async def test_forged_credential_is_refused(coturn):
    forged = turn.mint_for(b"not-the-shared-secret-at-all", "alice", coturn.urls, 300)
    with pytest.raises(stun.TransactionFailed) as e:
        await allocate(coturn, forged)
    assert error_code(e.value) == 401
    # The same user name with a password copied from another principal: refused as well.
    other = coturn.mint("mallory")
    with pytest.raises(stun.TransactionFailed) as e:
        await create_turn_endpoint(Sink, (coturn.ip, coturn.port), coturn.mint("alice").username, other.credential)
    assert error_code(e.value) == 401


@pytest.mark.parametrize("target", ["127.0.0.1", "192.168.1.1", "169.254.169.254", "10.0.0.1"])
async def test_relay_to_forbidden_ranges_is_refused(coturn, target):
    await assert_relay_refused(coturn, target, 9)


async def test_relay_to_the_turn_host_itself_is_refused(coturn):
    """The TURN host's own address lies inside the range this deployment allows,
    and is refused all the same: coturn must never relay to itself."""
    await assert_relay_refused(coturn, coturn.ip, coturn.port)


async def assert_relay_refused(coturn, target: str, port: int) -> None:
    t, _ = await allocate(coturn, coturn.mint())
    inner = t._TurnTransport__inner_protocol  # aioice keeps it private; CHANNEL-BIND is what sendto would do
    try:
        with pytest.raises(stun.TransactionFailed) as e:
            await inner.channel_bind(0x4000, (target, port))
        assert error_code(e.value) == 403
    finally:
        t.close()


async def test_nothing_reaches_loopback_through_the_relay(coturn):
    sink = udp_listener("127.0.0.1")
    t, _ = await allocate(coturn, coturn.mint())
    try:
        t.sendto(b"should-not-arrive", sink.getsockname())
        await asyncio.sleep(1)
        with pytest.raises(TimeoutError):
            await asyncio.to_thread(sink.recvfrom, 100)
    finally:
        t.close()
        sink.close()
