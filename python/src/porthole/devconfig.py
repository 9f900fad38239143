"""A ready-to-run local setup for `make run`: server and agent configs, keys, secrets.

`generate(directory)` writes, into one directory:

    server.toml              the server's config (org "demo", user "operator", one device)
    grant_ed25519.pem        the server's Ed25519 signing key (0600)
    grant_ed25519.pub.pem    its public half, for the agent
    operator.password        the operator's random password (0600)
    device.secret            the device's random secret (0600); its hash is in server.toml
    agent.toml               the agent's config

It is idempotent: keys, password and secret already there are reused, and the
two configs are rewritten only when they do not match the arguments.
"""

from __future__ import annotations

import json
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from porthole import grant
from porthole.errors import ConfigError
from porthole.server import passwords
from porthole.server.config import ID_RE

SERVER_TOML = "server.toml"
AGENT_TOML = "agent.toml"
SIGNING_KEY = "grant_ed25519.pem"
PUBLIC_KEY = "grant_ed25519.pub.pem"
PASSWORD_FILE = "operator.password"
SECRET_FILE = "device.secret"
USERNAME = "operator"
ORG = "demo"


@dataclass(frozen=True)
class DevConfig:
    directory: Path
    server_config: Path
    agent_config: Path
    url: str
    username: str
    password: str = field(repr=False)
    password_file: Path
    device_id: str
    device_secret_file: Path
    signing_key: Path
    public_key: Path


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _q(s: str) -> str:
    """A TOML basic string (JSON's escapes are a subset of TOML's)."""
    return json.dumps(s)


def _secret(path: Path) -> str:
    if path.is_file():
        value = path.read_text(encoding="utf-8").strip()
        if value:
            return value
    value = secrets.token_urlsafe(24)
    _write_private(path, (value + "\n").encode())
    return value


def _keys(directory: Path) -> None:
    priv, pub = directory / SIGNING_KEY, directory / PUBLIC_KEY
    try:
        key = grant.load_private_key(priv)
    except (OSError, ValueError, ConfigError):  # missing, unreadable or not Ed25519: a new one
        key = None
    if key is not None:
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if not pub.is_file() or pub.read_bytes() != public_pem:
            _write(pub, public_pem.decode())
        return
    private_pem, public_pem = grant.generate_keypair()
    _write_private(priv, private_pem)
    _write(pub, public_pem.decode())


def _server_toml(host: str, port: int, device_id: str, password: str, secret: str) -> str:
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"""# Local development setup written by porthole.devconfig (see docs/configuration.md).
[server]
listen = {_q(listen)}
origins = []
signing_key = {_q(SIGNING_KEY)}
token_ttl_s = 900
grant_ttl_s = 60
max_sessions_per_user = 16

[[orgs]]
id = {_q(ORG)}

[[users]]
name = {_q(USERNAME)}
org = {_q(ORG)}
# password: see {PASSWORD_FILE}
password_hash = {_q(passwords.hash_password(password))}

[[users.grants]]
devices = [{_q(device_id)}]
targets = ["*"]
kinds = ["terminal", "screen"]
mode = "interactive"
files = "both"  # upload and download on terminals (docs/protocol.md §5d)

[[devices]]
id = {_q(device_id)}
name = {_q(device_id)}
org = {_q(ORG)}
# secret: see {SECRET_FILE}
secret_hash = {_q(passwords.hash_device_secret(secret))}
"""


def _agent_toml(url: str, device_id: str) -> str:
    return f"""# Local development setup written by porthole.devconfig (see docs/configuration.md).
[agent]
device_id = {_q(device_id)}
server_url = {_q(url)}
secret_file = {_q(SECRET_FILE)}
grant_public_key = {_q(PUBLIC_KEY)}

[targets]
docker = true
containers = ["*"]
host_shell = false
"""


def _server_matches(path: Path, listen: str, device_id: str, password: str, secret: str) -> bool:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        srv = data["server"]
        users = [u for u in data["users"] if u["name"] == USERNAME]
        devices = [d for d in data["devices"] if d["id"] == device_id]
        return (
            srv["listen"] == listen
            and srv["signing_key"] == SIGNING_KEY
            and len(users) == 1
            and len(devices) == 1
            and passwords.verify_password(password, users[0]["password_hash"])
            and passwords.verify_device_secret(secret, devices[0]["secret_hash"]) is True
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def generate(directory: Path, *, device_id: str = "edge-1", host: str = "127.0.0.1", port: int = 8080) -> DevConfig:
    if not ID_RE.match(device_id):
        raise ConfigError(f"device id {device_id!r} is not valid (letters, digits, _ . -; at most 64)")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _keys(directory)
    password = _secret(directory / PASSWORD_FILE)
    secret = _secret(directory / SECRET_FILE)
    url_host = f"[{host}]" if ":" in host else host
    url = f"http://{url_host}:{port}"
    listen = f"{url_host}:{port}"
    server_path, agent_path = directory / SERVER_TOML, directory / AGENT_TOML
    if not _server_matches(server_path, listen, device_id, password, secret):
        _write(server_path, _server_toml(host, port, device_id, password, secret))
    agent_text = _agent_toml(url, device_id)
    if not agent_path.is_file() or agent_path.read_text(encoding="utf-8") != agent_text:
        _write(agent_path, agent_text)
    return DevConfig(
        directory=directory,
        server_config=server_path,
        agent_config=agent_path,
        url=url,
        username=USERNAME,
        password=password,
        password_file=directory / PASSWORD_FILE,
        device_id=device_id,
        device_secret_file=directory / SECRET_FILE,
        signing_key=directory / SIGNING_KEY,
        public_key=directory / PUBLIC_KEY,
    )
