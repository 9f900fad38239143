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
SESSION_ID_RE = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_SESSION_ID_LEN}}}$")

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

# The largest message a peer may send on the `terminal` data channel.
MAX_CHANNEL_MESSAGE = 64 * 1024
# The largest message on a screen's `input` channel: the largest valid one is
# under 100 bytes (docs/protocol.md, porthole-core's input.MaxMessageSize).
MAX_INPUT_MESSAGE = 1024

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
# `session:extend` for an end that no policy lets the user put off (max_duration, grant_expired).
NOT_EXTENDABLE = "not_extendable"
# The policy ends a `session:warning` announces.
WARNING_REASONS = frozenset({IDLE_TIMEOUT, MAX_DURATION, GRANT_EXPIRED})

# Codes of the screen `input` channel (porthole-core, core-go/internal/screen/input).
INPUT_NOT_ALLOWED = "input_not_allowed"
OUT_OF_RANGE = "out_of_range"
UNKNOWN_KEYSYM = "unknown_keysym"
DISPLAY_LOST = "display_lost"
INJECT_FAILED = "inject_failed"
# Codes of the screen `clipboard` channel (porthole-core, core-go/internal/screen/clipboard).
CLIPBOARD_NOT_ALLOWED = "clipboard_not_allowed"
CLIPBOARD_TOO_LARGE = "clipboard_too_large"
CLIPBOARD_FAILED = "clipboard_failed"
# The most text one clipboard copy or paste carries, bytes of UTF-8 (clipboard.MaxText).
MAX_CLIPBOARD_TEXT = 1 << 20
# Sessions one `session:rebind` or `agent:sessions` may re-announce (a user has at most
# server.max_sessions_per_user, a device its agent's max_sessions; both far below this).
MAX_REANNOUNCE = 256

# A recording upload that does not continue where the stored bytes end (HTTP 409).
BAD_OFFSET = "bad_offset"
# An HTTP request for a host name not in [server] allowed_hosts (HTTP 421; DNS rebinding).
HOST_NOT_ALLOWED = "host_not_allowed"

# An ICE restart (`webrtc:restart`) the device could not answer; the session goes on
# as it was (its peer connection may still recover, or the client tries again).
RESTART_FAILED = "restart_failed"

# Resume (docs/protocol.md §4c): a resume token refused, each case with its own code.
RESUME_INVALID = "resume_invalid"  # not a resume token of this server for this device and session
RESUME_EXPIRED = "resume_expired"
RESUME_REPLAYED = "resume_replayed"  # the token was used already (single use)
RESUME_WRONG_USER = "resume_wrong_user"  # the token is another user's
RESUME_DENIED = "resume_denied"  # the user's current authorization no longer allows the target
RESUME_NOT_FOUND = "resume_not_found"  # no detached shell of that session on the device (ended, expired)
RESUME_CODES = frozenset(
    {RESUME_INVALID, RESUME_EXPIRED, RESUME_REPLAYED, RESUME_WRONG_USER, RESUME_DENIED, RESUME_NOT_FOUND}
)

# Shared sessions (docs/protocol.md §2f): an invitation or a join refused, each case with its own code.
SHARE_INVALID = "share_invalid"  # not a share token of this server for this device, session and target
SHARE_EXPIRED = "share_expired"
SHARE_USED = "share_used"  # the token (a link) was used already (single use)
SHARE_DENIED = "share_denied"  # the user may not see that target (or is not the invitee, or another org)
SHARE_REVOKED = "share_revoked"  # the owner revoked the session's invitations after this one
SHARE_NOT_FOUND = "share_not_found"  # no shared terminal of that session on the device (ended)
NOT_A_VIEWER = "not_a_viewer"  # control handed to a session that does not watch this one
SHARE_CODES = frozenset(
    {SHARE_INVALID, SHARE_EXPIRED, SHARE_USED, SHARE_DENIED, SHARE_REVOKED, SHARE_NOT_FOUND, NOT_A_VIEWER}
)
# Viewers one shared terminal may have at once (the device refuses more: too_many_sessions).
MAX_VIEWERS = 16
# Who holds a shared terminal's control; roles of its participants (`share:state`).
ROLE_OWNER = "owner"
ROLE_VIEWER = "viewer"
# File transfer on a terminal's `files` channel (docs/protocol.md §5d), sent as
# {"type":"error","id":...,"code":...} on the channel.
FILES_NOT_ALLOWED = "files_not_allowed"  # the grant does not allow this direction (or any)
FILE_TOO_LARGE = "file_too_large"  # over the grant's size cap
PATH_NOT_ALLOWED = "path_not_allowed"  # a bad name, or a path outside the allowed folders (after symlinks)
FILE_NOT_FOUND = "file_not_found"  # no readable regular file there (download), no writable folder (upload)
CHECKSUM_MISMATCH = "checksum_mismatch"  # the bytes received do not hash to the announced sha256
TRANSFER_BUSY = "transfer_busy"  # one transfer at a time per channel
FILE_FAILED = "file_failed"  # the container or the file system failed (Docker's message says which)
FILES_OVERFLOW = "files_overflow"  # porthole-core: the peer sent more than its window; channel closed
# The largest chunk on the `files` channel, the page's window of unacknowledged upload bytes.
FILE_CHUNK = 64 * 1024
FILE_WINDOW = 1024 * 1024
FILE_CODES = frozenset(
    {
        FILES_NOT_ALLOWED,
        FILE_TOO_LARGE,
        PATH_NOT_ALLOWED,
        FILE_NOT_FOUND,
        CHECKSUM_MISMATCH,
        TRANSFER_BUSY,
        FILE_FAILED,
        FILES_OVERFLOW,
    }
)

# Every `code` that can reach a client or a device: an `error` ack, a
# `webrtc:error`, an HTTP error body, or an `error` message on the `terminal`,
# `input` or `clipboard` channel. (`login_expired` is only ever a disconnect reason.)
ERROR_CODES = frozenset(
    {
        errors.BAD_REQUEST,
        errors.UNAUTHENTICATED,
        errors.RATE_LIMITED,
        errors.DENIED,
        errors.DEVICE_OFFLINE,
        errors.TARGET_NOT_FOUND,
        errors.TOO_MANY_SESSIONS,
        errors.SESSION_NOT_FOUND,
        errors.GRANT_INVALID,
        errors.GRANT_EXPIRED,
        errors.GRANT_WRONG_DEVICE,
        errors.GRANT_REPLAYED,
        errors.BAD_SDP,
        errors.ICE_FAILED,
        errors.EXEC_FAILED,
        errors.SIDECAR_UNAVAILABLE,
        errors.SCREEN_UNAVAILABLE,
        errors.BAD_MESSAGE,
        errors.MESSAGE_TOO_LARGE,
        errors.INTERNAL,
        ROOT_DENIED,
        USER_DENIED,
        SHELL_DENIED,
        ENV_DENIED,
        TARGET_DENIED,
        AUDIT_UNAVAILABLE,
        IDLE_TIMEOUT,
        MAX_DURATION,
        VIEW_ONLY,
        NOT_EXTENDABLE,
        INPUT_NOT_ALLOWED,
        OUT_OF_RANGE,
        UNKNOWN_KEYSYM,
        DISPLAY_LOST,
        INJECT_FAILED,
        CLIPBOARD_NOT_ALLOWED,
        CLIPBOARD_TOO_LARGE,
        CLIPBOARD_FAILED,
        BAD_OFFSET,
        RESTART_FAILED,
        HOST_NOT_ALLOWED,
        *RESUME_CODES,
        *SHARE_CODES,
        *FILE_CODES,
    }
)

# Reasons of a `webrtc:disconnect`, of the device's `session.ended` audit
# record, and of porthole-core's SessionClosed event (sidecar.proto).
# From the client's side, to the device: what a client says is mapped onto
# CLIENT_REASONS by the server (client_reason), so that a client cannot write
# the device's audit (make its own close read `idle_timeout`, say).
USER_CLOSED = "user_closed"
CLIENT_ERROR = "client_error"  # the client ended it for any other reason (a failure on its side)
CLIENT_GONE = "client_gone"  # the server's: the client's socket went away
CLIENT_REASONS = frozenset({USER_CLOSED, CLIENT_ERROR})
CLOSED = "closed"  # the server's default for a device's webrtc:disconnect without a reason
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
AGENT_RESTARTED = "agent_restarted"  # a shell left by an agent that died, killed at its next start
# The device re-announced a live session after a signaling loss and the server no longer
# routes it (it ended while the device was away: closed, its client gone past the grace).
SIGNALING_LOST = "signaling_lost"
# A detached shell (its connection lost) not resumed within [agent] resume_grace_s: killed.
DETACHED_TIMEOUT = "detached_timeout"
# The session's shell went on in a new session (resume): this one ends, the shell does not.
RESUMED = "resumed"
# A viewer's session ends because the shared terminal it watched ended (its owner left or it exited).
SHARE_ENDED = "share_ended"
DISCONNECT_REASONS = frozenset(
    {
        *CLIENT_REASONS,
        CLIENT_GONE,
        CLOSED,
        EXIT,
        PEER_CLOSED,
        SETUP_TIMEOUT,
        AGENT_SHUTDOWN,
        SIDECAR_RESTARTED,
        SIDECAR_ERROR,
        SIDECAR_SHUTDOWN,
        CLOSED_DURING_SETUP,
        CLOSED_BY_AGENT,
        CLOSED_BY_ADMIN,
        PEER_FAILED,
        SCREEN_LOST,
        AGENT_RESTARTED,
        SIGNALING_LOST,
        DETACHED_TIMEOUT,
        RESUMED,
        SHARE_ENDED,
        errors.ICE_FAILED,
        errors.INTERNAL,
        errors.SIDECAR_UNAVAILABLE,
        errors.EXEC_FAILED,
        errors.TARGET_NOT_FOUND,
        ROOT_DENIED,
        IDLE_TIMEOUT,
        MAX_DURATION,
        GRANT_EXPIRED,
        LOGIN_EXPIRED,
    }
)


def client_reason(v: object) -> str:
    """A client's own close reason, mapped onto the fixed set (it may not write the device's audit)."""
    return USER_CLOSED if v is None or v == USER_CLOSED else CLIENT_ERROR
