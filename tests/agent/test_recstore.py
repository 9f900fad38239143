"""Recordings on the device (issue 14, 6; agent/recstore.py): a flood does not
fill the disk, files are private, old files go.

Real agent, real container, aiortc: `head -c 300000 /dev/urandom | base64` in a
session recorded with `max_bytes = 16384` stops the recording near the cap
(with a last line saying so, and an audited `recording.capped`), the session
goes on, and the file is 0600 in a 0700 folder even under a 022 umask."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from pathlib import Path

import pytest

from porthole.agent import config as agent_config
from porthole.agent import recstore
from porthole.errors import ConfigError
from tests.agent.test_terminal import wait_target

CAP = 16384


def audit_records(agent) -> list[dict]:
    return [
        json.loads(line.split("porthole.audit: ", 1)[1])
        for line in agent.log().splitlines()
        if "porthole.audit: " in line
    ]


async def test_a_flood_stops_the_recording_not_the_session(agent_factory, make_container) -> None:
    old_umask = os.umask(0o022)  # the agent inherits it: files would be 0644 without recstore
    try:
        agent = await agent_factory(
            extra_toml=f'\n[recording]\nenabled = true\ninput = true\nupload = false\ndir = "recs"\nmax_bytes = {CAP}\n'
        )
    finally:
        os.umask(old_umask)
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name)
    client.type("head -c 300000 /dev/urandom | base64; echo flood-$((6*7))\r")
    await client.wait_output("flood-42", timeout=60)
    client.type("echo still-$((7*7))\r")  # the session went on
    await client.wait_output("still-49")
    client.type("exit\r")
    async with asyncio.timeout(15):
        await client.exit_code

    folder = agent.log_path.parent / "recs"
    cast = folder / f"{sid}.cast"
    async with asyncio.timeout(15):
        while not cast.exists():
            await asyncio.sleep(0.1)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(cast.stat().st_mode) == 0o600
    text = cast.read_text()
    # The cap counts terminal bytes; JSON escaping and timings add at most a few times that.
    assert len(text) < 4 * CAP, len(text)
    assert "recording stopped here" in text.splitlines()[-1]
    assert "still-49" not in text
    capped = [a for a in audit_records(agent) if a["event"] == "recording.capped" and a.get("session_id") == sid]
    assert len(capped) == 1 and capped[0]["bytes"] == CAP and capped[0]["event_code"] == "PA4003", capped


def test_retention_keeps_pending_uploads_and_prunes_the_rest(tmp_path: Path) -> None:
    now = time.time()
    day = 86400

    def make(name: str, age_days: float) -> Path:
        p = tmp_path / name
        p.write_text("x")
        os.utime(p, (now - age_days * day, now - age_days * day))
        return p

    waiting = make("s_wait.cast", 100)  # an upload still owed to the server: kept
    old_rejected = make("s_old.cast.rejected", 31)
    old_uploaded = make("s_old2.cast.uploaded", 31)
    recent = [make(f"s_new{i}.cast.uploaded", i / 10) for i in range(5)]
    other = make("notes.txt", 400)
    cfg = recstore.StoreConfig(keep_days=30, max_files=3)
    gone = recstore.prune(tmp_path, cfg, upload=True, now=now)
    # The two old ones by age, then the two oldest of the five recent ones by count.
    assert set(gone) == {old_rejected, old_uploaded, recent[4], recent[3]}, gone
    assert waiting.exists() and other.exists() and all(p.exists() for p in recent[:3])
    # With upload off nothing is owed: .cast files age out too.
    assert recstore.prune(tmp_path, cfg, upload=False, now=now) == [waiting]


def test_recording_keys_are_checked(tmp_path: Path) -> None:
    def load(rec: dict):
        return agent_config.from_dict(
            {
                "agent": {
                    "device_id": "d1",
                    "server_url": "http://127.0.0.1:1",
                    "secret_file": "s",
                    "grant_public_key": "k",
                },
                "recording": rec,
            },
            base=tmp_path,
        )

    cfg = load({"enabled": True, "max_bytes": 4096, "keep_days": 0.5, "max_files": 7})
    assert cfg.recstore == recstore.StoreConfig(max_bytes=4096, keep_days=0.5, max_files=7)
    assert cfg.recording.enabled
    assert load({}).recstore == recstore.StoreConfig()
    for bad in ({"max_bytes": 10}, {"max_bytes": "big"}, {"keep_days": 0}, {"max_files": 1.5}, {"max_files": True}):
        with pytest.raises(ConfigError, match="recording"):
            load(bad)
