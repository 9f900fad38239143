"""The admin API's optional TCP listener: mutual TLS only. `porthole ctl
--target` with a client certificate from the configured CA gets answers; a
certificate from another CA is refused."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.ctl.test_ctl import admin_socket, ctl


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, key, cert: x509.Certificate) -> None:
    path.with_suffix(".key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_ca(d: Path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write(d / name, key, cert)
    return key, cert


def issue(d: Path, name: str, ca, *, server: bool) -> None:
    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if server:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    _write(d / name, key, b.sign(ca_key, hashes.SHA256()))


async def test_ctl_over_mutual_tls(agent_factory, tmp_path):
    d = tmp_path / "tls"
    d.mkdir()
    ca = make_ca(d, "ca")
    issue(d, "agent", ca, server=True)
    issue(d, "operator", ca, server=False)
    issue(d, "intruder", make_ca(d, "other-ca"), server=False)
    # Appended right after the [admin] table that tests/support/stack.py writes: these keys go in it.
    agent = await agent_factory(
        extra_toml=f"""listen = "127.0.0.1:0"
tls_cert = "{d / "agent.pem"}"
tls_key = "{d / "agent.key"}"
tls_client_ca = "{d / "ca.pem"}"
"""
    )
    h = (await ctl("health", "--json", socket=admin_socket(agent))).json()
    target = h["admin_tls_address"]
    assert target.startswith("127.0.0.1:") and not target.endswith(":0"), h

    tls = ["--target", target, "--tls-ca", str(d / "ca.pem")]
    r = await ctl(*tls, "--tls-cert", str(d / "operator.pem"), "--tls-key", str(d / "operator.key"), "health", "--json")
    assert r.code == 0, r
    assert r.json()["device_id"] == agent.device_id and r.json()["admin_tls_address"] == target
    r = await ctl(*tls, "--tls-cert", str(d / "operator.pem"), "--tls-key", str(d / "operator.key"), "sessions")
    assert r.code == 0 and r.out.strip() == "no live sessions", r

    # A client certificate from another CA: the handshake fails, and ctl says so.
    r = await ctl(
        *tls, "--tls-cert", str(d / "intruder.pem"), "--tls-key", str(d / "intruder.key"), "--timeout", "3", "sessions"
    )
    assert r.code in (3, 4) and r.out == "", r
    assert f"the agent at {target}" in r.err, r.err
    assert "does it accept this --tls-cert? see [admin] tls_client_ca" in r.err or "TLS" in r.err, r.err

    # An agent certificate that --tls-ca did not sign: the client refuses it.
    r = await ctl(
        "--target",
        target,
        "--tls-ca",
        str(d / "other-ca.pem"),
        "--tls-cert",
        str(d / "operator.pem"),
        "--tls-key",
        str(d / "operator.key"),
        "--timeout",
        "3",
        "sessions",
    )
    assert r.code == 4 and r.out == "" and r.err.startswith(f"porthole ctl: TLS with the agent at {target} failed"), r
    assert "CERTIFICATE_VERIFY_FAILED" in r.err and len(r.err.strip().splitlines()) == 1, r.err
