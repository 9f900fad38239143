"""Validation of every Socket.IO payload the server accepts (docs/protocol.md).

Each function takes what arrived on the wire and returns clean values, or raises
PortholeError(bad_request). Messages name the field, never echo its value.
Relayed payloads are rebuilt from validated fields; nothing is passed through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from porthole import errors, grant, wire
from porthole.errors import PortholeError

# Every limit and code set comes from porthole.wire, shared with the agent and
# checked against porthole-core's; this module only applies them.
# The longest kind name on the wire ("terminal", "screen", "container"); a guard before the set check.
MAX_KIND_LEN = 32
# A device secret is a random string of a few dozen characters.
MAX_SECRET_LEN = 1024


def bad(message: str) -> PortholeError:
    return PortholeError(errors.BAD_REQUEST, message)


def obj(data: object) -> dict[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise bad("payload must be a JSON object")
    return data


def text(d: dict[str, Any], key: str, max_len: int, *, default: str | None = None, empty_ok: bool = False) -> str:
    v = d.get(key)
    if v is None:
        if default is None:
            raise bad(f"{key} is required")
        v = default
    if not isinstance(v, str) or (not v and not empty_ok):
        raise bad(f"{key} must be a non-empty string")
    if len(v) > max_len:
        raise bad(f"{key} is longer than {max_len} characters")
    if not v.isascii():
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not text, and other stacks choke on them
            raise bad(f"{key} is not valid Unicode text") from None
    return v


def dim(d: dict[str, Any], key: str, default: int | None) -> int | None:
    v = d.get(key)
    if v is None:
        return default
    if not wire.dim_ok(v):
        raise bad(f"{key} must be an integer {wire.MIN_DIM}..{wire.MAX_DIM}")
    return v


def session_id(d: dict[str, Any]) -> str:
    v = text(d, "session_id", wire.MAX_SESSION_ID_LEN)
    if not wire.session_id_ok(v):
        raise bad(f"session_id must be 1..{wire.MAX_SESSION_ID_LEN} of [A-Za-z0-9_-]")
    return v


@dataclass(frozen=True)
class OpenRequest:
    device_id: str
    target_id: str
    kind: str
    mode: str | None
    cols: int
    rows: int


def open_request(data: object) -> OpenRequest:
    d = obj(data)
    device_id = text(d, "device_id", wire.MAX_DEVICE_ID_LEN)
    target_id = text(d, "target_id", wire.MAX_TARGET_ID_LEN)
    kind = text(d, "kind", MAX_KIND_LEN, default="terminal")
    if kind not in grant.KINDS:
        raise bad(f"kind must be one of {', '.join(grant.KINDS)}")
    mode = d.get("mode")
    if mode is not None and mode not in grant.MODES:
        raise bad(f"mode must be one of {', '.join(grant.MODES)}")
    cols = dim(d, "cols", wire.DEFAULT_COLS)
    rows = dim(d, "rows", wire.DEFAULT_ROWS)
    assert cols is not None and rows is not None
    return OpenRequest(device_id, target_id, kind, mode, cols, rows)


def sdp(d: dict[str, Any], expected_type: str) -> str:
    if d.get("type", expected_type) != expected_type:
        raise bad(f"type must be {expected_type!r}")
    v = d.get("sdp")
    if not isinstance(v, str) or not v:
        raise bad("sdp must be a non-empty string")
    if len(v) > wire.MAX_SDP_BYTES:
        raise bad(f"sdp is larger than {wire.MAX_SDP_BYTES} bytes")
    try:
        size = len(v.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, e.g. from a JSON "\ud800" escape
        raise bad("sdp is not valid Unicode text") from None
    if size > wire.MAX_SDP_BYTES:
        raise bad(f"sdp is larger than {wire.MAX_SDP_BYTES} bytes")
    return v


def candidate(d: dict[str, Any]) -> dict[str, Any] | None:
    """`candidate`: an RTCIceCandidateInit-like object, or null for end of candidates."""
    if "candidate" not in d:
        raise bad("candidate is required (null for end of candidates)")
    c = d["candidate"]
    if c is None:
        return None
    if not isinstance(c, dict):
        raise bad("candidate must be an object or null")
    out: dict[str, Any] = {"candidate": text(c, "candidate", wire.MAX_CANDIDATE_LEN, default="", empty_ok=True)}
    mid = c.get("sdpMid")
    if mid is not None and (not isinstance(mid, str) or len(mid) > wire.MAX_MID_LEN):
        raise bad("candidate.sdpMid must be a short string or null")
    out["sdpMid"] = mid
    idx = c.get("sdpMLineIndex")
    if idx is not None and not wire.mline_index_ok(idx):
        raise bad(f"candidate.sdpMLineIndex must be an integer 0..{wire.MAX_MLINE_INDEX} or null")
    out["sdpMLineIndex"] = idx
    if mid is None and idx is None and out["candidate"]:
        raise bad("candidate needs sdpMid or sdpMLineIndex")
    ufrag = c.get("usernameFragment")
    if ufrag is not None:
        if not isinstance(ufrag, str) or len(ufrag) > wire.MAX_UFRAG_LEN:
            raise bad("candidate.usernameFragment must be a short string or null")
        out["usernameFragment"] = ufrag
    return out


def reason(d: dict[str, Any], default: str) -> str:
    return text(d, "reason", wire.MAX_REASON_LEN, default=default)


def error(d: dict[str, Any]) -> tuple[str, str]:
    code = text(d, "code", 64)
    if not wire.CODE_RE.match(code):
        raise bad("code must be a lower_snake_case error code")
    return code, text(d, "message", wire.MAX_ERROR_MESSAGE_LEN, default="", empty_ok=True)


# A warning announces an end at most this far ahead (the agent warns a minute ahead).
MAX_WARNING_AHEAD_S = 3600.0


def warning(d: dict[str, Any]) -> dict[str, Any]:
    """A device's `session:warning` (docs/protocol.md §3), rebuilt for the client (without session_id)."""
    why = text(d, "reason", wire.MAX_REASON_LEN)
    if why not in wire.WARNING_REASONS:
        raise bad(f"reason must be one of {sorted(wire.WARNING_REASONS)}")
    if d.get("cleared") is True:
        return {"reason": why, "cleared": True}
    ends = d.get("ends_in_s")
    if isinstance(ends, bool) or not isinstance(ends, (int, float)) or not 0 <= ends <= MAX_WARNING_AHEAD_S:
        raise bad(f"ends_in_s must be a number 0..{MAX_WARNING_AHEAD_S:g}")
    extendable = d.get("extendable")
    if not isinstance(extendable, bool):
        raise bad("extendable must be true or false")
    message = text(d, "message", wire.MAX_ERROR_MESSAGE_LEN, default="", empty_ok=True)
    return {"reason": why, "ends_in_s": float(ends), "extendable": extendable, "message": message}


def extend_answer(ack: object) -> dict[str, Any]:
    """The device's ack of `session:extend`, rebuilt for the client; a malformed one is `internal`."""
    if isinstance(ack, dict) and ack.get("ok") is True:
        return {"ok": True}
    err = ack.get("error") if isinstance(ack, dict) else None
    try:
        code, message = error(obj(err))
    except PortholeError:
        raise PortholeError(errors.INTERNAL, "the device answered session:extend with a malformed ack") from None
    raise PortholeError(code, message)


def _target(t: object, i: int) -> dict[str, str]:
    if not isinstance(t, dict):
        raise bad(f"targets[{i}] must be an object")
    tid = text(t, "id", wire.MAX_TARGET_ID_LEN)
    if not wire.TARGET_ID_RE.match(tid):
        raise bad(f"targets[{i}].id has characters outside [A-Za-z0-9_.:@/+-]")
    kind = text(t, "kind", MAX_KIND_LEN, default="container")
    if kind not in wire.TARGET_KINDS:
        raise bad(f"targets[{i}].kind must be one of {', '.join(wire.TARGET_KINDS)}")
    name = text(t, "name", wire.MAX_TARGET_TEXT_LEN, default=tid)
    label = text(t, "label", wire.MAX_TARGET_TEXT_LEN, default=name)
    state = text(t, "state", wire.MAX_TARGET_STATE_LEN, default="", empty_ok=True)
    for key, v in (("name", name), ("label", label), ("state", state)):
        if not v.isprintable():
            raise bad(f"targets[{i}].{key} has control characters")
    return {"id": tid, "name": name, "kind": kind, "label": label, "state": state}


def inventory(data: object) -> list[dict[str, str]]:
    d = obj(data)
    targets = d.get("targets")
    if not isinstance(targets, list):
        raise bad("targets must be a list")
    if len(targets) > wire.MAX_TARGETS:
        raise bad(f"more than {wire.MAX_TARGETS} targets")
    out = [_target(t, i) for i, t in enumerate(targets)]
    if len({t["id"] for t in out}) != len(out):
        raise bad("target ids must be unique")
    return out


def agent_auth(auth: object) -> tuple[str, str]:
    if not isinstance(auth, dict):
        raise PortholeError(errors.UNAUTHENTICATED, "auth must be {device_id, secret}")
    device_id, secret = auth.get("device_id"), auth.get("secret")
    if not isinstance(device_id, str) or not wire.DEVICE_ID_RE.match(device_id):
        raise PortholeError(errors.UNAUTHENTICATED, "auth.device_id missing or malformed")
    if not isinstance(secret, str) or not 0 < len(secret) <= MAX_SECRET_LEN:
        raise PortholeError(errors.UNAUTHENTICATED, "auth.secret missing or malformed")
    return device_id, secret


def _reannounced(data: object, key: str = "sessions") -> list[Any]:
    items = obj(data).get(key)
    if not isinstance(items, list) or len(items) > wire.MAX_REANNOUNCE:
        raise bad(f"{key} must be a list of at most {wire.MAX_REANNOUNCE} entries")
    return items


def rebind_request(data: object) -> list[str]:
    """`session:rebind`: the ids of the client's live sessions (no duplicates kept)."""
    out: list[str] = []
    for i, item in enumerate(_reannounced(data)):
        if not isinstance(item, dict):
            raise bad(f"sessions[{i}] must be an object")
        sid = session_id(item)
        if sid not in out:
            out.append(sid)
    return out


def agent_sessions(data: object) -> list[tuple[str, str]]:
    """`agent:sessions`: (session id, grant) of each live session of the device."""
    out: dict[str, str] = {}
    for i, item in enumerate(_reannounced(data)):
        if not isinstance(item, dict):
            raise bad(f"sessions[{i}] must be an object")
        out[session_id(item)] = text(item, "grant", grant.MAX_GRANT_LEN)
    return list(out.items())
