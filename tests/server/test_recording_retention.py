"""Recordings on the server are private and do not pile up (issue 14, 6;
server/recordings.py): under a 022 umask the folder is 0700 and every file
0600; the metadata of a session that never got a recording goes after
pending_days, a stored recording (and its metadata) after keep_days."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from pathlib import Path

from .conftest import Env
from .test_recordings import opened, recordings_dir, uploader_for


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


async def test_private_files_and_retention(env: Env, tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        stored, never = "s_kept00000000000000000", "s_never0000000000000000"
        opened(env, stored)
        opened(env, never)  # session:open, but the device never uploads a recording
        up = uploader_for(tmp_path, env.url)
        (tmp_path / "rec").mkdir()
        (tmp_path / "rec" / f"{stored}.cast").write_bytes(b'{"version": 2, "width": 80, "height": 24}\n')
        task = asyncio.create_task(up.run())
        try:
            async with asyncio.timeout(30):
                while up.uploaded < 1:
                    await asyncio.sleep(0.1)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        os.umask(old_umask)
    d = recordings_dir(env)
    assert mode(d) == 0o700
    files = sorted(p.name for p in d.iterdir())
    assert files == sorted([f"{stored}.cast", f"{stored}.meta.json", f"{never}.meta.json"]), files
    assert all(mode(d / f) == 0o600 for f in files), {f: oct(mode(d / f)) for f in files}

    store, now = env.server.recordings, time.time()
    assert store.prune(now) == []  # nothing is old yet
    assert store.prune(now + 8 * 86400) == [f"{never}.meta.json"]  # pending_days (7)
    assert sorted(store.prune(now + 91 * 86400)) == [f"{stored}.cast", f"{stored}.meta.json"]  # keep_days (90)
    assert list(d.iterdir()) == []
