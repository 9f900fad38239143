"""Error codes shared by the server, the agent and clients (docs/protocol.md §6).

Every error that crosses a boundary carries one of these stable codes; the
message is for people and may change.
"""

from __future__ import annotations

BAD_REQUEST = "bad_request"
UNAUTHENTICATED = "unauthenticated"
RATE_LIMITED = "rate_limited"
DENIED = "denied"
DEVICE_OFFLINE = "device_offline"
TARGET_NOT_FOUND = "target_not_found"
TOO_MANY_SESSIONS = "too_many_sessions"
SESSION_NOT_FOUND = "session_not_found"
GRANT_INVALID = "grant_invalid"
GRANT_EXPIRED = "grant_expired"
GRANT_WRONG_DEVICE = "grant_wrong_device"
GRANT_REPLAYED = "grant_replayed"
BAD_SDP = "bad_sdp"
ICE_FAILED = "ice_failed"
EXEC_FAILED = "exec_failed"
SIDECAR_UNAVAILABLE = "sidecar_unavailable"
SCREEN_UNAVAILABLE = "screen_unavailable"
BAD_MESSAGE = "bad_message"
MESSAGE_TOO_LARGE = "message_too_large"
INTERNAL = "internal"


class PortholeError(Exception):
    """Root of every error this package raises on purpose; carries a code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def to_wire(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ConfigError(PortholeError):
    """A configuration file or flag is invalid; raised at start-up."""

    def __init__(self, message: str) -> None:
        super().__init__("config_invalid", message)
