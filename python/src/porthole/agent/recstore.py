"""What the device keeps of its recordings, and how (issue 14, 6).

Recordings can hold typed passwords and fill the disk that also holds the audit
log. recording.py writes them; this module decides around it:

- the folder is 0700 and every file 0600 (created so, whatever the umask);
- a session records at most `[recording] max_bytes` (default: the server's own
  limit, so nothing recorded is refused there): past it the recording stops
  with a last line saying so, the session goes on, and `recording.capped` is
  audited;
- retention: files that are not waiting for an upload (`.cast.uploaded`,
  `.cast.rejected`, and every `.cast` when upload is off) older than
  `keep_days`, and the oldest beyond `max_files`, are deleted at start and every
  PRUNE_EVERY_S.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from porthole.agent.recording import Recorder

from porthole.errors import ConfigError

log = logging.getLogger("porthole.agent.recstore")

DEFAULT_MAX_BYTES = 64 * 1024 * 1024  # the server's default [recordings] max_bytes
DEFAULT_KEEP_DAYS = 30
DEFAULT_MAX_FILES = 1000
PRUNE_EVERY_S = 3600.0
KEYS = ("max_bytes", "keep_days", "max_files")
# Suffixes of files no upload waits for.
DONE_SUFFIXES = (".cast.uploaded", ".cast.rejected")
CAPPED_NOTICE = "\r\n[porthole: recording stopped here: it reached {} bytes; the session went on]\r\n"


@dataclass(frozen=True)
class StoreConfig:
    max_bytes: int = DEFAULT_MAX_BYTES
    keep_days: float = DEFAULT_KEEP_DAYS
    max_files: int = DEFAULT_MAX_FILES


def parse(raw: dict) -> StoreConfig:
    """Takes this module's keys out of the `[recording]` table (recording.py parses the rest)."""
    out: dict = {}
    for key, lo, hi in (("max_bytes", 1024, 2**40), ("keep_days", 0.001, 36500), ("max_files", 1, 10**7)):
        if key not in raw:
            continue
        v = raw.pop(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (key != "keep_days" and not isinstance(v, int)):
            raise ConfigError(f"recording.{key}: expected a number")
        if not lo <= v <= hi:
            raise ConfigError(f"recording.{key}: {lo}..{hi}")
        out[key] = v
    return StoreConfig(**out)


def prepare_dir(d: Path) -> None:
    """The recording folder, 0700 (tightened when it exists and is ours)."""
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = d.stat()
    if st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) != 0o700:
        d.chmod(0o700)


def precreate(path: Path) -> None:
    """Creates path empty and 0600, so that whoever opens it next writes a private file."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class CappedRecorder:
    """A recorder (recording.Recorder's interface) that stops after max_bytes of terminal data."""

    def __init__(self, inner: Recorder, max_bytes: int, on_capped: Callable[[int], None]) -> None:
        self._inner = inner
        self._max = max_bytes
        self._on_capped = on_capped
        self.bytes = 0
        self.capped = False
        self.path = inner.path

    def _take(self, n: int, at: float | None) -> bool:
        if self.capped:
            return False
        self.bytes += n
        if self.bytes <= self._max:
            return True
        self.capped = True
        self._inner.output(CAPPED_NOTICE.format(self._max).encode(), at)
        log.warning("recording %s stopped at %d bytes ([recording] max_bytes)", self.path.name, self._max)
        self._on_capped(self._max)
        return False

    def output(self, data: bytes, at: float | None = None) -> None:
        if self._take(len(data), at):
            self._inner.output(data, at)

    def input(self, data: bytes, at: float | None = None) -> None:
        if self._take(len(data), at):
            self._inner.input(data, at)

    def resize(self, cols: int, rows: int, at: float | None = None) -> None:
        if not self.capped:
            self._inner.resize(cols, rows, at)

    def gap(self, dropped: int, at: float | None = None) -> None:
        if not self.capped:
            self._inner.gap(dropped, at)

    def close(self) -> Path | None:
        return self._inner.close()

    def __getattr__(self, name: str) -> Any:
        """Everything else (record_input, ...) is the wrapped recorder's."""
        return getattr(self._inner, name)


def prune(d: Path, cfg: StoreConfig, *, upload: bool, now: float | None = None) -> list[Path]:
    """Deletes what retention says; returns what it deleted."""
    if not d.is_dir():
        return []
    suffixes = DONE_SUFFIXES if upload else (*DONE_SUFFIXES, ".cast")
    files = []
    for p in d.iterdir():
        if p.name.startswith("s_") and p.name.endswith(suffixes):
            with contextlib.suppress(OSError):
                files.append((p.stat().st_mtime, p))
    files.sort()
    now = time.time() if now is None else now
    old = [p for mtime, p in files if now - mtime > cfg.keep_days * 86400]
    rest = [p for _, p in files if p not in set(old)]
    doomed = old + rest[: max(0, len(rest) - cfg.max_files)]
    for p in doomed:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    if doomed:
        log.info("recordings: deleted %d by retention (keep_days, max_files)", len(doomed))
    return doomed


async def prune_forever(d: Path, cfg: StoreConfig, *, upload: bool) -> None:
    while True:
        try:
            await asyncio.to_thread(prune, d, cfg, upload=upload)
        except OSError as e:
            log.error("recordings: retention failed: %s", e)
        await asyncio.sleep(PRUNE_EVERY_S)
