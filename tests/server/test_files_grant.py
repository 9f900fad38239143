"""File transfer policy: `[[users.grants]] files` / `file_max_bytes` → the grant's
`files` / `fmax` claims, as the agent verifies them (docs/protocol.md §5d)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from porthole import grant
from porthole.errors import ConfigError, PortholeError
from porthole.server import config as config_mod
from porthole.server.authz import Policy

from .conftest import write_config

OPERATOR = 'kinds = ["terminal"]\nmode = "interactive"'
VIEWER = 'devices = ["edge-1"]\nmode = "view"'


def _load(tmp_path: Path, operator: str = "", viewer: str = "") -> config_mod.Config:
    path = write_config(tmp_path)
    text = path.read_text()
    assert OPERATOR in text and VIEWER in text
    path.write_text(text.replace(OPERATOR, OPERATOR + operator, 1).replace(VIEWER, VIEWER + viewer, 1))
    return config_mod.load(path)


def test_directions_and_cap_from_the_grants(tmp_path: Path) -> None:
    cfg = _load(tmp_path, '\nfiles = "both"\nfile_max_bytes = 1000', '\nfiles = "upload"')
    p = Policy(cfg)
    op, viewer = cfg.users["operator"], cfg.users["viewer"]
    assert p.files(op, "edge-1", "plc-1", "terminal", "interactive") == ("both", 1000)
    assert p.files(op, "edge-1", "other", "terminal", "interactive") == ("neither", 0)  # no grant names it
    assert p.files(op, "edge-1", "plc-1", "screen", "interactive") == ("neither", 0)
    assert p.files(viewer, "edge-1", "x", "terminal", "view") == ("neither", 0)  # view never uploads
    assert p.files(cfg.users["operator"], "edge-1", "plc-1", "terminal", "view") == ("download", 1000)
    (tmp_path / "d").mkdir()
    plain = _load(tmp_path / "d")
    assert Policy(plain).files(plain.users["operator"], "edge-1", "plc-1", "terminal", "interactive") == ("neither", 0)


@pytest.mark.parametrize(
    "extra,key",
    [('\nfiles = "all"', "users[0].grants[0].files"), ("\nfile_max_bytes = 0", "users[0].grants[0].file_max_bytes")],
)
def test_bad_files_keys_name_the_key(tmp_path: Path, extra: str, key: str) -> None:
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, extra)
    assert e.value.message.startswith(key + ":"), e.value.message


def test_grant_claims_round_trip_and_bad_ones_refused() -> None:
    key = Ed25519PrivateKey.generate()
    common: dict[str, Any] = dict(session_id="s_1", user="u", org="o", device_id="d", target_id="t", now=1000.0)
    g = grant.verify(
        grant.sign(key, files="upload", files_max_bytes=5, **common), key.public_key(), device_id="d", now=1001
    )
    assert (g.files, g.files_max_bytes) == ("upload", 5)
    g = grant.verify(grant.sign(key, **common), key.public_key(), device_id="d", now=1001)
    assert (g.files, g.files_max_bytes) == ("neither", 0)
    claims = jwt.decode(grant.sign(key, **common), options={"verify_signature": False})
    for bad in ({"files": "all", "fmax": 1}, {"files": "both", "fmax": -1}, {"files": "both", "fmax": True}):
        token = jwt.encode({**claims, **bad}, key, algorithm="EdDSA")
        with pytest.raises(PortholeError) as e:
            grant.verify(token, key.public_key(), device_id="d", now=1001)
        assert e.value.code == "grant_invalid"
