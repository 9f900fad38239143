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
