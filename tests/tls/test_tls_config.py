"""[server] tls_cert/tls_key and agent.ca_file: every problem stops the start with a
message naming the key (code config_invalid); no way to turn verification off."""

from __future__ import annotations

import dataclasses
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from porthole import devconfig
from porthole.agent import config as agent_config
from porthole.errors import ConfigError
from porthole.server import config as server_config
from tests.tls.certs import Pki, make_pki


def server_toml(tmp_path: Path, tls_lines: str) -> Path:
    dc = devconfig.generate(tmp_path / f"dev-{secrets.token_hex(4)}", host="127.0.0.1", port=8443)
    text = dc.server_config.read_text().replace("\n[server]\n", f"\n[server]\n{tls_lines}\n", 1)
    dc.server_config.write_text(text)
    return dc.server_config


def refused(path: Path) -> str:
    with pytest.raises(ConfigError) as e:
        server_config.load(path)
    assert e.value.code == "config_invalid"
    return e.value.message


def test_a_good_pair_is_accepted(tmp_path: Path, pki: Pki) -> None:
    cfg = server_config.load(server_toml(tmp_path, f'tls_cert = "{pki.cert}"\ntls_key = "{pki.key}"'))
    assert cfg.server.tls is not None and cfg.server.tls.cert == pki.cert


@pytest.mark.parametrize("which", ["tls_cert", "tls_key"])
def test_one_without_the_other_is_refused(tmp_path: Path, pki: Pki, which: str) -> None:
    path = pki.cert if which == "tls_cert" else pki.key
    msg = refused(server_toml(tmp_path, f'{which} = "{path}"'))
    other = "tls_key" if which == "tls_cert" else "tls_cert"
    assert msg.startswith(f"server.{other}: missing"), msg


def test_missing_files_are_named(tmp_path: Path, pki: Pki) -> None:
    msg = refused(server_toml(tmp_path, f'tls_cert = "{tmp_path}/nope.pem"\ntls_key = "{pki.key}"'))
    assert msg == f"server.tls_cert: cannot read {tmp_path}/nope.pem: No such file or directory", msg
    msg = refused(server_toml(tmp_path, f'tls_cert = "{pki.cert}"\ntls_key = "{tmp_path}/nope.key"'))
    assert msg == f"server.tls_key: cannot read {tmp_path}/nope.key: No such file or directory", msg


def test_a_world_readable_key_is_refused(tmp_path: Path, pki: Pki) -> None:
    os.chmod(pki.key, 0o644)
    msg = refused(server_toml(tmp_path, f'tls_cert = "{pki.cert}"\ntls_key = "{pki.key}"'))
    assert "readable by every user" in msg and "0644" in msg and "chmod 0600" in msg, msg
    os.chmod(pki.key, 0o640)  # a group (ssl-cert) may read it
    server_config.load(server_toml(tmp_path, f'tls_cert = "{pki.cert}"\ntls_key = "{pki.key}"'))


def test_a_key_of_another_certificate_is_refused(tmp_path: Path, pki: Pki) -> None:
    other = make_pki(tmp_path / "other", name="other")
    msg = refused(server_toml(tmp_path, f'tls_cert = "{pki.cert}"\ntls_key = "{other.key}"'))
    assert msg == f"server.tls_key: {other.key} is not the private key of the certificate in {pki.cert}", msg


def test_files_that_are_not_pem_are_refused(tmp_path: Path, pki: Pki) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    os.chmod(junk, 0o600)
    msg = refused(server_toml(tmp_path, f'tls_cert = "{junk}"\ntls_key = "{pki.key}"'))
    assert msg.startswith("server.tls_cert: ") and "is not a PEM certificate" in msg, msg
    msg = refused(server_toml(tmp_path, f'tls_cert = "{pki.cert}"\ntls_key = "{junk}"'))
    assert msg.startswith("server.tls_key: ") and "not a PEM private key" in msg, msg


def agent_raw(ca: str | None, url: str = "https://porthole.example:443") -> dict:
    a = {"device_id": "edge-1", "server_url": url, "secret_file": "s", "grant_public_key": "k"}
    if ca is not None:
        a["ca_file"] = ca
    return {"agent": a, "sidecar": {"binary": "/bin/true"}}


def test_agent_ca_file(tmp_path: Path, pki: Pki) -> None:
    assert agent_config.from_dict(agent_raw(None), base=tmp_path).ca_file is None  # the system store
    assert agent_config.from_dict(agent_raw(str(pki.ca)), base=tmp_path).ca_file == pki.ca
    rel = agent_config.from_dict(agent_raw(pki.ca.name), base=pki.ca.parent).ca_file
    assert rel == pki.ca  # relative to the config's folder
    with pytest.raises(ConfigError) as e:
        agent_config.from_dict(agent_raw("missing.pem"), base=tmp_path)
    assert e.value.message == f"agent.ca_file: cannot read {tmp_path}/missing.pem: No such file or directory"
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    with pytest.raises(ConfigError) as e:
        agent_config.from_dict(agent_raw(str(junk)), base=tmp_path)
    assert e.value.message.startswith("agent.ca_file: ") and "no PEM certificate" in e.value.message
    # There is nothing that turns verification off.
    raw = agent_raw(None)
    raw["agent"]["insecure"] = True
    assert not hasattr(agent_config.from_dict(raw, base=tmp_path), "insecure")


async def test_plain_http_off_loopback_is_warned_about(tmp_path: Path, pki: Pki, caplog) -> None:
    """Plain HTTP on an address others reach, with no TLS proxy configured: a warning at start."""
    from porthole.server.app import Server

    for tls_lines, host, warned in (
        ("", "0.0.0.0", True),
        ('trusted_proxies = ["127.0.0.1"]', "0.0.0.0", False),  # a TLS proxy in front
        ("", "127.0.0.1", False),
        (f'tls_cert = "{pki.cert}"\ntls_key = "{pki.key}"', "0.0.0.0", False),
    ):
        cfg = server_config.load(server_toml(tmp_path, tls_lines))
        cfg = dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, host=host, port=0))
        caplog.clear()
        server = Server(cfg)
        await server.start()
        await server.stop()
        assert ("serving plain HTTP" in caplog.text) == warned, (tls_lines, host, caplog.text)


def test_the_commands_stop_with_exit_code_2_and_say_why(tmp_path: Path, pki: Pki) -> None:
    os.chmod(pki.key, 0o604)
    path = server_toml(tmp_path, f'tls_cert = "{pki.cert}"\ntls_key = "{pki.key}"')
    r = subprocess.run(
        [sys.executable, "-m", "porthole", "server", "--config", str(path)], capture_output=True, text=True
    )
    assert r.returncode == 2, r
    assert r.stderr.startswith(f"porthole server: server.tls_key: {pki.key} is readable by every user"), r.stderr

    agent = tmp_path / "agent.toml"
    agent.write_text(
        '[agent]\ndevice_id = "edge-1"\nserver_url = "https://porthole.example:443"\n'
        'secret_file = "s"\ngrant_public_key = "k"\nca_file = "nope.pem"\n'
    )
    r = subprocess.run(
        [sys.executable, "-m", "porthole", "agent", "--config", str(agent)], capture_output=True, text=True
    )
    assert r.returncode == 2, r
    assert f"config_invalid: agent.ca_file: cannot read {tmp_path}/nope.pem" in r.stdout + r.stderr, r
