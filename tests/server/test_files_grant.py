"""File transfer policy: `[[users.grants]] files` / `file_max_bytes` / `file_dirs` → the
grant's `files` / `fmax` / `fdirs` claims, as the agent verifies them (docs/protocol.md §5d)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from porthole import grant
from porthole.errors import ConfigError, PortholeError
from porthole.server import config as config_mod
from porthole.server.authz import FilePolicy, Policy

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
    home_tmp = ("~", "/tmp")
    assert p.files(op, "edge-1", "plc-1", "terminal", "interactive") == FilePolicy("both", 1000, home_tmp)
    assert p.files(op, "edge-1", "other", "terminal", "interactive") == FilePolicy()  # no grant names it
    assert p.files(op, "edge-1", "plc-1", "screen", "interactive").files == "neither"
    assert p.files(viewer, "edge-1", "x", "terminal", "view").files == "neither"  # view never uploads
    assert p.files(cfg.users["operator"], "edge-1", "plc-1", "terminal", "view") == FilePolicy("download", 1000)
    (tmp_path / "d").mkdir()
    plain = _load(tmp_path / "d")
    assert Policy(plain).files(plain.users["operator"], "edge-1", "plc-1", "terminal", "interactive") == FilePolicy()


def test_file_dirs_normalized_and_added_up_over_matching_grants(tmp_path: Path) -> None:
    more = (
        '\nfiles = "download"\nfile_dirs = ["/srv/data/", "~/inbox", "//var//log"]'
        '\n[[users.grants]]\ndevices = ["edge-1"]\ntargets = ["plc-1"]'
        '\nfiles = "upload"\nfile_dirs = ["~", "/srv/data"]'
    )
    cfg = _load(tmp_path, more)
    p, op = Policy(cfg), cfg.users["operator"]
    assert cfg.users["operator"].grants[0].file_dirs == ("/srv/data", "~/inbox", "/var/log")
    assert p.files(op, "edge-1", "plc-1", "terminal", "interactive").file_dirs == (
        "/srv/data",
        "~/inbox",
        "/var/log",
        "~",
    )
    assert p.files(op, "edge-2", "plc-1", "terminal", "interactive").file_dirs == ("/srv/data", "~/inbox", "/var/log")


@pytest.mark.parametrize(
    "dirs,key,why",
    [
        ('["data"]', "file_dirs[0]", "is relative"),
        ('["/ok", ""]', "file_dirs[1]", "empty"),
        ('["/srv/../etc"]', "file_dirs[0]", ". or .."),
        ('["~/./x"]', "file_dirs[0]", ". or .."),
        ('["~root/x"]', "file_dirs[0]", "is relative"),
        ('["/a\\nb"]', "file_dirs[0]", "control character"),
        ("[]", "file_dirs", "must not be empty"),
        ('"/tmp"', "file_dirs", "expected a list of folders"),
        ("[1]", "file_dirs[0]", "empty"),
        (str([f"/d{i}" for i in range(17)]).replace("'", '"'), "file_dirs", "at most 16"),
    ],
)
def test_bad_file_dirs_refused_at_load(tmp_path: Path, dirs: str, key: str, why: str) -> None:
    with pytest.raises(ConfigError) as e:
        _load(tmp_path, f'\nfiles = "both"\nfile_dirs = {dirs}')
    assert e.value.code == "config_invalid"
    assert e.value.message.startswith(f"users[0].grants[0].{key}:"), e.value.message
    assert why in e.value.message, e.value.message


def test_the_folders_of_all_a_users_grants_must_fit_a_grant(tmp_path: Path) -> None:
    long = ", ".join(f'"/{c * 100}"' for c in "abcdefgh")  # 8 x 100 bytes: fits one grant
    more = f'\nfiles = "both"\nfile_dirs = [{long}]'
    _load(tmp_path, more)
    other = ", ".join(f'"/{c * 100}"' for c in "ijk")
    more += f'\n[[users.grants]]\ndevices = ["edge-2"]\nfiles = "upload"\nfile_dirs = [{other}]'
    (tmp_path / "d").mkdir()
    with pytest.raises(ConfigError) as e:
        _load(tmp_path / "d", more)
    assert e.value.message.startswith("users[0].grants: the file_dirs of this user's grants together"), e.value.message


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
        grant.sign(key, files="upload", files_max_bytes=5, file_dirs=("/srv", "~/in"), **common),
        key.public_key(),
        device_id="d",
        now=1001,
    )
    assert (g.files, g.files_max_bytes, g.file_dirs) == ("upload", 5, ("/srv", "~/in"))
    g = grant.verify(grant.sign(key, **common), key.public_key(), device_id="d", now=1001)
    assert (g.files, g.files_max_bytes, g.file_dirs) == ("neither", 0, ("~", "/tmp"))
    claims = jwt.decode(grant.sign(key, files="both", files_max_bytes=1, **common), options={"verify_signature": False})
    assert claims["fdirs"] == ["~", "/tmp"]
    del claims["fdirs"]  # a grant from a server that predates fdirs: the default folders
    old = grant.verify(jwt.encode(claims, key, algorithm="EdDSA"), key.public_key(), device_id="d", now=1001)
    assert old.file_dirs == ("~", "/tmp")
    bads: list[dict[str, Any]] = [
        {"files": "all", "fmax": 1},
        {"files": "both", "fmax": -1},
        {"files": "both", "fmax": True},
        {"fdirs": ["etc"]},
        {"fdirs": ["/srv/../etc"]},
        {"fdirs": []},
        {"fdirs": "/tmp"},
        {"fdirs": [""]},
        {"fdirs": [f"/d{i}" for i in range(17)]},
    ]
    for bad in bads:
        token = jwt.encode({**claims, **bad}, key, algorithm="EdDSA")
        with pytest.raises(PortholeError) as e:
            grant.verify(token, key.public_key(), device_id="d", now=1001)
        assert e.value.code == "grant_invalid", bad
    with pytest.raises(ValueError):
        grant.sign(key, files="both", file_dirs=("relative",), **common)
