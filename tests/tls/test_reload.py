"""SIGHUP (`systemctl reload porthole-server`) loads a renewed certificate without a restart:
new connections get it, the agent's link stays up; a broken pair is logged and the old kept."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import ssl
from pathlib import Path

from tests.support.fullstack import Stack
from tests.tls.certs import make_pki
from tests.tls.conftest import wait_log


def served_certificate(url: str) -> bytes:
    """The DER certificate the server presents to a new connection (not verified here)."""
    host, port = url.removeprefix("https://").rsplit(":", 1)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=5) as raw, ctx.wrap_socket(raw) as s:
        der = s.getpeercert(binary_form=True)
    assert der is not None
    return der


def der(pem: Path) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.read_text())


async def test_sighup_loads_a_renewed_certificate(https_stack: Stack, pki, tmp_path: Path) -> None:
    st = https_stack
    assert await asyncio.to_thread(served_certificate, st.url) == der(pki.cert)
    renewed = make_pki(tmp_path / "renewed", name="renewed")
    shutil.copy(renewed.cert, pki.cert)
    shutil.copy(renewed.key, pki.key)  # keeps the 0600 file
    st.server.send_signal(signal.SIGHUP)
    await wait_log(st, "server", st.server, "reload: certificate loaded again")
    assert await asyncio.to_thread(served_certificate, st.url) == der(renewed.cert)

    # A pair that does not match: refused, the renewed one stays.
    other = make_pki(tmp_path / "other", name="other")
    shutil.copy(other.key, pki.key)
    st.server.send_signal(signal.SIGHUP)
    log = await wait_log(st, "server", st.server, "reload: kept the current certificate")
    assert "is not the private key of the certificate" in log
    assert await asyncio.to_thread(served_certificate, st.url) == der(renewed.cert)
    assert st.server.poll() is None and "disconnected from server" not in st.log("agent")
