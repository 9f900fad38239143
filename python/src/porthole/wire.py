"""The signaling wire rules, written once for the server, the agent and the docs.

Every limit a Socket.IO payload is checked against, and every code that can
reach a client (`error.code`, `webrtc:error.code`, `webrtc:disconnect.reason`),
lives here. The server (`server/payloads.py`) and the agent (`agent/signaling`)
import these names instead of writing their own numbers; porthole-core has the
same limits in Go (core-go/internal/rtc/limits.go, terminal/limits.go), and
tests/test_wire_rules.py fails when the two disagree. docs/protocol.md lists
the same code sets, checked by tests/test_protocol_doc.py.
"""

from __future__ import annotations

import re

from porthole import errors

# ---------------------------------------------------------------- ids and sizes

# Session ids are minted by the server ("s_" + 22 url-safe characters); 64
# leaves room for other servers' formats without letting an id be data.
MAX_SESSION_ID_LEN = 64
SESSION_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,%d}$" % MAX_SESSION_ID_LEN)

# An SDP offer with a data channel and a video track is a few KiB; 64 KiB
# leaves room for many candidates inlined by non-trickling clients.
MAX_SDP_BYTES = 64 * 1024

# ICE candidate fields (RTCIceCandidateInit). One candidate line is ~100-200
# characters; sdpMLineIndex is a small m-line number (we use at most 2).
MAX_CANDIDATE_LEN = 1024
MAX_MID_LEN = 64
MAX_MLINE_INDEX = 1023
MAX_UFRAG_LEN = 256

# Free-text fields relayed between peers.
MAX_REASON_LEN = 64
MAX_ERROR_MESSAGE_LEN = 1024
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

# Terminal size, on signaling (`session:open`, the offer) and on the channel.
MIN_DIM, MAX_DIM = 1, 1000
DEFAULT_COLS, DEFAULT_ROWS = 80, 24

# The largest message a peer may send on a data channel (terminal, input).
MAX_CHANNEL_MESSAGE = 64 * 1024

# Device ids and the inventory a device announces.
DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_DEVICE_ID_LEN = 64
MAX_TARGETS = 256
MAX_TARGET_ID_LEN = 128
MAX_TARGET_TEXT_LEN = 256
MAX_TARGET_STATE_LEN = 32
TARGET_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/+-]*$")
TARGET_KINDS = ("container", "host", "screen")


def session_id_ok(v: object) -> bool:
    return isinstance(v, str) and SESSION_ID_RE.match(v) is not None


def mline_index_ok(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_MLINE_INDEX


def dim_ok(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and MIN_DIM <= v <= MAX_DIM


# ---------------------------------------------------------------- codes

# Policy and device codes (the agent decides these; the server passes them on).
ROOT_DENIED = "root_denied"
USER_DENIED = "user_denied"
SHELL_DENIED = "shell_denied"
ENV_DENIED = "env_denied"
TARGET_DENIED = "target_denied"
AUDIT_UNAVAILABLE = "audit_unavailable"
IDLE_TIMEOUT = "idle_timeout"
MAX_DURATION = "max_duration"
GRANT_EXPIRED = errors.GRANT_EXPIRED
LOGIN_EXPIRED = "login_expired"
VIEW_ONLY = "view_only"

# Every `code` of an `error` ack, a `webrtc:error` or a terminal `error` message.
ERROR_CODES = frozenset({
    errors.BAD_REQUEST, errors.UNAUTHENTICATED, errors.RATE_LIMITED, errors.DENIED,
    errors.DEVICE_OFFLINE, errors.TARGET_NOT_FOUND, errors.TOO_MANY_SESSIONS,
    errors.SESSION_NOT_FOUND, errors.GRANT_INVALID, errors.GRANT_EXPIRED,
    errors.GRANT_WRONG_DEVICE, errors.GRANT_REPLAYED, errors.BAD_SDP, errors.ICE_FAILED,
    errors.EXEC_FAILED, errors.SIDECAR_UNAVAILABLE, errors.SCREEN_UNAVAILABLE,
    errors.BAD_MESSAGE, errors.MESSAGE_TOO_LARGE, errors.INTERNAL,
    ROOT_DENIED, USER_DENIED, SHELL_DENIED, ENV_DENIED, TARGET_DENIED, AUDIT_UNAVAILABLE,
    IDLE_TIMEOUT, MAX_DURATION, LOGIN_EXPIRED, VIEW_ONLY,
})

# Reasons of a `webrtc:disconnect` (and of the `session.ended` audit record).
# Sent by the client: what it says is mapped onto CLIENT_REASONS.
USER_CLOSED = "user_closed"
CLIENT_GONE = "client_gone"
CLIENT_REASONS = frozenset({USER_CLOSED, CLIENT_GONE})
# Sent by the device (agent or porthole-core) or the server.
EXIT = "exit"
PEER_CLOSED = "peer_closed"
SETUP_TIMEOUT = "setup_timeout"
AGENT_SHUTDOWN = "agent_shutdown"
SIDECAR_RESTARTED = "sidecar_restarted"
SIDECAR_ERROR = "sidecar_error"
SIDECAR_SHUTDOWN = "sidecar_shutdown"
CLOSED_DURING_SETUP = "closed_during_setup"
CLOSED_BY_AGENT = "closed_by_agent"
CLOSED_BY_ADMIN = "closed_by_admin"
PEER_FAILED = "peer_failed"
SCREEN_LOST = "screen_lost"
DISCONNECT_REASONS = frozenset({
    *CLIENT_REASONS, EXIT, PEER_CLOSED, SETUP_TIMEOUT, AGENT_SHUTDOWN, SIDECAR_RESTARTED,
    SIDECAR_ERROR, SIDECAR_SHUTDOWN, CLOSED_DURING_SETUP, CLOSED_BY_AGENT, CLOSED_BY_ADMIN,
    PEER_FAILED, SCREEN_LOST, errors.ICE_FAILED, errors.INTERNAL,
    # The terminal could not start: its error code is the reason (sidecar_unavailable when
    # porthole-core did not come back in time to bridge it).
    errors.EXEC_FAILED, errors.TARGET_NOT_FOUND, ROOT_DENIED, errors.SIDECAR_UNAVAILABLE,
    IDLE_TIMEOUT, MAX_DURATION,
    GRANT_EXPIRED, LOGIN_EXPIRED, errors.DEVICE_OFFLINE,
})


def client_reason(v: object) -> str:
    """A client's own close reason, mapped onto the fixed set (it may not write the device's audit)."""
    return v if isinstance(v, str) and v in CLIENT_REASONS else USER_CLOSED
