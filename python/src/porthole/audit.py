"""Audit events: one structured JSON line per session event, on the logger
`porthole.audit` (docs/configuration.md says where it goes). Never put a
secret in a field: grants, tokens and passwords stay out."""

from __future__ import annotations

import json
import logging
import time

log = logging.getLogger("porthole.audit")


def emit(event: str, *, ok: bool = True, **fields: object) -> None:
    record = {"ts": round(time.time(), 3), "event": event, "ok": ok}
    record.update({k: v for k, v in fields.items() if v is not None})
    log.info(json.dumps(record, sort_keys=True, default=str))
