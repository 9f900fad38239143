"""Config parsing and validation, password hashing, devconfig."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import aiohttp
import pytest

from porthole import devconfig, grant
from porthole.errors import ConfigError
from porthole.server import config as config_mod
from porthole.server import passwords
from porthole.server.app import Server

from .conftest import Peer, write_config


def test_passwords_roundtrip_and_format() -> None:
    encoded = passwords.hash_password("correct horse", n=2**8)
    scheme, n, r, p, _salt, _digest = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "256", "8", "1")
    assert passwords.verify_password("correct horse", encoded)
    assert not passwords.verify_password("correct horsE", encoded)
    assert passwords.hash_password("x", n=2**8) != passwords.hash_password("x", n=2**8)  # salted
    for bad in (
        "",
        "scrypt$",
        "bcrypt$1$2$3$AAAA$BBBB",
        encoded.replace("$256$", "$255$"),
        encoded.replace("$256$", f"${2**30}$"),
        encoded[:-4] + "!!!!",
    ):
        assert not passwords.is_valid_hash(bad)
        assert not passwords.verify_password("correct horse", bad)


def test_loaded_config(tmp_path: Path) -> None:
    cfg = config_mod.load(write_config(tmp_path))
    assert (cfg.server.host, cfg.server.port) == ("127.0.0.1", 0)
    assert cfg.server.signing_key == tmp_path / "key.pem"
    assert cfg.server.token_ttl_s == 900 and cfg.server.grant_ttl_s == 60
    assert cfg.orgs == ("demo", "other")
    op = cfg.users["operator"]
    assert op.org == "demo" and op.grants[0].devices == ("edge-*",) and op.grants[0].mode == "interactive"
    assert cfg.users["viewer"].grants[0].targets == ("*",) and cfg.users["viewer"].grants[0].kinds == ("terminal",)
    assert cfg.devices["edge-2"].name == "edge-2"
    assert "secret_hash" not in repr(cfg.devices["edge-1"]) and "$" not in repr(op)


def _edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    "old,new,key",
    [
        ('listen = "127.0.0.1:0"', 'listen = "nope"', "server.listen"),
        ('listen = "127.0.0.1:0"', "listen = 8080", "server.listen"),
        ('signing_key = "key.pem"', 'signing_key = "missing.pem"', "server.signing_key"),
        ('origins = ["https://console.example"]', 'origins = ["console.example/path"]', "server.origins[0]"),
        ('urls = ["stun:127.0.0.1:3478"]', 'urls = ["http://x"]', "server.ice_servers[0].urls"),
        # A fixed TURN credential would reach every user and never expire: TURN only through [server.turn].
        (
            'urls = ["stun:127.0.0.1:3478"]',
            'urls = ["turn:127.0.0.1:3478"]\nusername = "u"\ncredential = "fixed"',
            "server.ice_servers[0].urls",
        ),
        ('secret_file = "turn.secret"', 'secret_file = "missing.secret"', "server.turn.secret_file"),
        ('secret_file = "turn.secret"', 'secret_file = "turn.secret"\nmax_ttl_s = 5', "server.turn.max_ttl_s"),
        (
            'urls = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"]',
            'urls = ["stun:127.0.0.1:3478"]',
            "server.turn.urls",
        ),
        ('secret_file = "turn.secret"', 'secret_file = "turn.secret"\nusername = "u"', "server.turn.username"),
        (
            '[[orgs]]\nid = "other"',
            '[[orgs]]\nid = "other"\nice_transport_policy = "sometimes"',
            "orgs[1].ice_transport_policy",
        ),
        ('id = "edge-2"', 'id = "edge-2"\nice_transport_policy = "never"', "devices[1].ice_transport_policy"),
        ('mode = "view"', 'mode = "root"', "users[1].grants[0].mode"),
        ('kinds = ["terminal"]', 'kinds = ["video"]', "users[0].grants[0].kinds"),
        ('devices = ["edge-1"]', "devices = []", "users[1].grants[0].devices"),
        ('name = "viewer"\norg = "demo"', 'name = "viewer"\norg = "nowhere"', "users[1].org"),
        ('name = "viewer"', 'name = "operator"', "users[1].name"),
        ('id = "edge-2"', 'id = "edge 2"', "devices[1].id"),
        ('id = "edge-2"', 'id = "edge-1"', "devices[1].id"),
        ('id = "edge-2"', 'id = "porthole-client"', "devices[1].id"),
        ('id = "edge-2"', 'id = "edge-2"\ncolour = "red"', "devices[1].colour"),
        ("[server]", "[server]\ntoken_ttl_s = true", "server.token_ttl_s"),
        ("[server]", "[server]\ngrant_ttl_s = 100000", "server.grant_ttl_s"),
        ("[server]", '[server]\nredis_url = "127.0.0.1:6379"', "server.redis_url"),
        ("[server]", "[server]\nredis_url = 6379", "server.redis_url"),
        ("[server]", "[serverx]", "serverx"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    path = _edit(write_config(tmp_path), old, new)
    with pytest.raises(ConfigError) as e:
        config_mod.load(path)
    assert e.value.message.startswith(key + ":"), e.value.message


def test_a_plain_password_is_not_a_hash(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    text = path.read_text()
    start = text.index('password_hash = "') + len('password_hash = "')
    path.write_text(text[:start] + "hunter2" + text[text.index('"', start) :])
    with pytest.raises(ConfigError) as e:
        config_mod.load(path)
    assert e.value.message.startswith("users[0].password_hash:") and "hunter2" not in e.value.message


def test_config_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        config_mod.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        config_mod.load(bad)


def test_devconfig_writes_a_private_ready_setup(tmp_path: Path) -> None:
    d = tmp_path / "dev"
    dc = devconfig.generate(d, device_id="edge-9", host="127.0.0.1", port=18080)
    assert dc.url == "http://127.0.0.1:18080" and dc.username == "operator" and len(dc.password) >= 24
    assert dc.password not in repr(dc)
    for name in ("grant_ed25519.pem", "operator.password", "device.secret"):
        assert stat.S_IMODE(os.stat(d / name).st_mode) == 0o600, name
    assert (d / "operator.password").read_text().strip() == dc.password
    cfg = config_mod.load(dc.server_config)
    assert (cfg.server.host, cfg.server.port) == ("127.0.0.1", 18080)
    assert passwords.verify_password(dc.password, cfg.users["operator"].password_hash)
    secret = (d / "device.secret").read_text().strip()
    assert passwords.verify_device_secret(secret, cfg.devices["edge-9"].secret_hash) is True  # a keyed hash
    agent = tomllib.loads(dc.agent_config.read_text())
    assert agent == {
        "agent": {
            "device_id": "edge-9",
            "server_url": "http://127.0.0.1:18080",
            "secret_file": "device.secret",
            "grant_public_key": "grant_ed25519.pub.pem",
        },
        "targets": {"docker": True, "containers": ["*"], "host_shell": False},
    }
    # The public key the agent gets matches the server's signing key.
    key = grant.load_private_key(d / "grant_ed25519.pem")
    token = grant.sign(key, session_id="s_1", user="operator", org="demo", device_id="edge-9", target_id="t")
    assert grant.verify(token, grant.load_public_key(d / "grant_ed25519.pub.pem"), device_id="edge-9")


def test_devconfig_is_idempotent(tmp_path: Path) -> None:
    first = devconfig.generate(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    second = devconfig.generate(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert second.password == first.password
    # Another port rewrites the configs but keeps key, password and secret.
    third = devconfig.generate(tmp_path, port=9999)
    assert third.password == first.password
    assert (tmp_path / "grant_ed25519.pem").read_bytes() == before["grant_ed25519.pem"]
    assert (tmp_path / "device.secret").read_bytes() == before["device.secret"]
    assert config_mod.load(third.server_config).server.port == 9999
    with pytest.raises(ConfigError):
        devconfig.generate(tmp_path, device_id="bad id")


async def test_devconfig_setup_runs(tmp_path: Path) -> None:
    dc = devconfig.generate(tmp_path, port=0)
    server = Server(config_mod.load(dc.server_config))
    await server.start()
    agent = Peer("/agent", ())
    client = Peer("/client", ())
    try:
        async with aiohttp.ClientSession() as http:
            body = {"username": dc.username, "password": dc.password}
            async with http.post(server.url + "/api/login", json=body) as r:
                assert r.status == 200
                token = (await r.json())["token"]
        secret = dc.device_secret_file.read_text().strip()
        await agent.connect(server.url, {"device_id": dc.device_id, "secret": secret})
        await agent.call("agent:inventory", {"targets": [{"id": "demo"}]})
        await client.connect(server.url, {"token": token})
        ack = await client.call("devices:list")
        assert ack["devices"][0]["id"] == "edge-1" and ack["devices"][0]["online"]
        ack = await client.call("session:open", {"device_id": "edge-1", "target_id": "demo"})
        assert ack["ok"] and ack["ice_servers"] == []
    finally:
        await agent.close()
        await client.close()
        await server.stop()


def test_relay_policy_needs_turn(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    text = path.read_text()
    start, end = text.index("[server.turn]"), text.index("[[orgs]]")
    path.write_text(text[:start] + text[end:].replace('id = "other"', 'id = "other"\nice_transport_policy = "relay"'))
    with pytest.raises(ConfigError) as e:
        config_mod.load(path)
    assert "needs [server.turn]" in e.value.message and "'other'" in e.value.message


def test_redis_url_is_kept_out_of_the_config_repr(tmp_path: Path) -> None:
    path = _edit(write_config(tmp_path), "[server]", '[server]\nredis_url = "redis://:pa55-word@10.0.0.5:6379/0"')
    cfg = config_mod.load(path)
    assert cfg.server.redis_url == "redis://:pa55-word@10.0.0.5:6379/0"
    assert "pa55-word" not in repr(cfg)
