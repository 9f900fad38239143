"""Terminal session recording on the device, as asciicast v2 files.

`[recording]` in the agent config: when `enabled`, every terminal session is
written to `<dir>/<session id>.cast` as it happens (output always; input too
when `input = true`), and the finished file is uploaded to the server
(porthole.agent.upload), which keeps it for authorized users to list, download
and replay. See docs/security.md.

asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): the first
line is a JSON header object, each following line a JSON array
`[time, code, data]` with time in seconds since the start, code "o" (output),
"i" (input) or "r" (resize, data "COLSxROWS"). `asciinema play FILE` replays it.
"""

from __future__ import annotations

import codecs
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from porthole.errors import ConfigError

log = logging.getLogger("porthole.agent.recording")


@dataclass(frozen=True)
class RecordingConfig:
    enabled: bool = False
    input: bool = False
    dir: Path = Path("recordings")
    upload: bool = True
    keep_uploaded: bool = False


def parse(raw: object, base: Path) -> RecordingConfig:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("recording: expected a table")
    unknown = sorted(set(raw) - {"enabled", "input", "dir", "upload", "keep_uploaded"})
    if unknown:
        raise ConfigError(f"recording.{unknown[0]}: unknown key")
    for k in ("enabled", "input", "upload", "keep_uploaded"):
        if k in raw and not isinstance(raw[k], bool):
            raise ConfigError(f"recording.{k}: expected true or false")
    d = raw.get("dir", "recordings")
    if not isinstance(d, str) or not d:
        raise ConfigError("recording.dir: expected a path")
    p = Path(d).expanduser()
    return RecordingConfig(
        enabled=raw.get("enabled", False),
        input=raw.get("input", False),
        dir=p if p.is_absolute() else base / p,
        upload=raw.get("upload", True),
        keep_uploaded=raw.get("keep_uploaded", False),
    )


# A recording in progress ends in this suffix; only finished `.cast` files are uploaded.
PARTIAL_SUFFIX = ".cast.rec"


class Recorder:
    """Writes one session as asciicast v2, event by event (each line flushed)."""

    def __init__(
        self, directory: Path, session_id: str, *, cols: int, rows: int, record_input: bool, title: str, term: str
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{session_id}.cast"
        self._partial = directory / f"{session_id}{PARTIAL_SUFFIX}"
        self.record_input = record_input
        # Events carry the wall time porthole-core saw them at (recording_feed.py);
        # times never go backwards in the file (output and resizes come on two streams).
        self._start = time.time()
        self._last = 0.0
        self._out = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._in = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._fh: TextIO | None = self._partial.open("w", encoding="utf-8")
        header = {
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": int(time.time()),
            "title": title,
            "env": {"TERM": term},
        }
        self._line(header)

    def _line(self, obj: object) -> None:
        if self._fh is None:
            return
        try:
            self._fh.write(json.dumps(obj, ensure_ascii=False) + "\n")
            self._fh.flush()
        except OSError as e:
            log.error("recording %s stopped: %s", self.path.name, e.strerror)
            self._fh = None

    def _event(self, code: str, data: str, at: float | None = None) -> None:
        if data:
            t = max(self._last, round((time.time() if at is None else at) - self._start, 6))
            self._last = t
            self._line([t, code, data])

    def output(self, data: bytes, at: float | None = None) -> None:
        """Output the process wrote, at wall time `at` (now when None)."""
        self._event("o", self._out.decode(data), at)

    def input(self, data: bytes, at: float | None = None) -> None:
        if self.record_input:
            self._event("i", self._in.decode(data), at)

    def resize(self, cols: int, rows: int, at: float | None = None) -> None:
        self._event("r", f"{cols}x{rows}", at)

    def gap(self, dropped: int, at: float | None = None) -> None:
        """Bytes porthole-core left out (the agent fell too far behind): an asciicast marker says so."""
        log.error("recording %s: %d bytes not recorded", self.path.name, dropped)
        self._event("m", f"porthole: {dropped} bytes not recorded here", at)

    def close(self) -> Path | None:
        """Finishes the file; returns its path (None if writing failed)."""
        if self._fh is None:
            return None
        self._event("o", self._out.decode(b"", final=True))
        if self.record_input:
            self._event("i", self._in.decode(b"", final=True))
        fh, self._fh = self._fh, None
        try:
            fh.close()
            self._partial.rename(self.path)
        except OSError as e:
            log.error("recording %s could not be finished: %s", self.path.name, e.strerror)
            return None
        return self.path
