"""The network every WebRTC test runs in: the namespace scripts/in-netns.sh made.

``test_ip`` / ``test_iface`` (session) are the address and interface on which
every stack (Chromium, aiortc, pion) gathers its host candidate. Configure ICE
filters with them (pion: interface filter ``== test_iface`` or IP filter
``== test_ip``). A test run outside in-netns.sh fails with the command to use.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

RUN_HINT = (
    "tests must run inside the test network namespace: `make test-py`, or "
    "`bash scripts/in-netns.sh .venv/bin/python -m pytest -q tests ...`"
)


def interface_addresses() -> dict[str, list[str]]:
    """``{ifname: [ipv4/ipv6 address, ...]}`` of the current network namespace."""
    out = subprocess.run(["ip", "-j", "addr", "show"], check=True, capture_output=True, text=True).stdout
    return {link["ifname"]: [a["local"] for a in link.get("addr_info", [])] for link in json.loads(out)}


@pytest.fixture(scope="session")
def test_iface() -> str:
    iface = os.environ.get("PORTHOLE_TEST_IFACE")
    if not iface:
        pytest.fail(f"PORTHOLE_TEST_IFACE is not set: {RUN_HINT}", pytrace=False)
    return iface


@pytest.fixture(scope="session")
def test_ip(test_iface: str) -> str:
    ip = os.environ.get("PORTHOLE_TEST_IP")
    if not ip:
        pytest.fail(f"PORTHOLE_TEST_IP is not set: {RUN_HINT}", pytrace=False)
    have = interface_addresses().get(test_iface, [])
    if ip not in have:
        pytest.fail(
            f"PORTHOLE_TEST_IP={ip} is not on interface {test_iface} here (it has {have}): {RUN_HINT}",
            pytrace=False,
        )
    return ip
