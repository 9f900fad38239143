"""porthole-core (Go) and the Python control plane (porthole.wire) agree on the wire rules.

The limits are written once per language; this test fails when the two drift
(issue 9 §3). It reads the Go constants from the source, so it needs neither a
Go toolchain nor a network.
"""

import pytest

from porthole import errors, wire
from tests.support import goconst

RTC = goconst.constants("internal/rtc/limits.go")
TERMINAL = goconst.constants("internal/terminal/limits.go", "internal/terminal/message.go")
INPUT = goconst.constants("internal/screen/input/message.go")

# (Go constant, its value in Go, the Python value, what it bounds)
SAME = [
    ("rtc.MaxSessionIDLen", RTC["MaxSessionIDLen"], wire.MAX_SESSION_ID_LEN, "session id length"),
    ("rtc.MaxOfferSize", RTC["MaxOfferSize"], wire.MAX_SDP_BYTES, "SDP offer size"),
    ("terminal.MaxPeerMessage", TERMINAL["MaxPeerMessage"], wire.MAX_CHANNEL_MESSAGE, "terminal message size"),
    ("terminal.minCells", TERMINAL["minCells"], wire.MIN_DIM, "smallest terminal dimension"),
    ("terminal.maxCells", TERMINAL["maxCells"], wire.MAX_DIM, "largest terminal dimension"),
    ("input.MaxMessageSize", INPUT["MaxMessageSize"], wire.MAX_INPUT_MESSAGE, "input message size"),
]


@pytest.mark.parametrize(("go_name", "go_value", "py_value", "what"), SAME, ids=[s[0] for s in SAME])
def test_limit_is_the_same_in_go_and_python(go_name, go_value, py_value, what):
    assert go_value == py_value, f"{what}: porthole-core's {go_name} is {go_value}, porthole.wire says {py_value}"


def test_session_ids_the_server_mints_fit_both():
    # "s_" + 22 url-safe characters (server/sessions.py), at the limit and one past it.
    assert wire.session_id_ok("s_" + "A" * 22)
    go_max = RTC["MaxSessionIDLen"]
    assert isinstance(go_max, int)
    assert wire.session_id_ok("a" * go_max)
    assert not wire.session_id_ok("a" * (go_max + 1))


def test_terminal_error_codes_are_wire_codes():
    codes = {TERMINAL["CodeBadMessage"], TERMINAL["CodeMessageTooLarge"]}
    assert codes == {errors.BAD_MESSAGE, errors.MESSAGE_TOO_LARGE}
    assert codes <= wire.ERROR_CODES


def test_sidecar_close_reasons_are_disconnect_reasons():
    # SessionClosed.reason reaches the client as a webrtc:disconnect reason.
    reasons = {v for k, v in RTC.items() if k.startswith("Reason")}
    assert len(reasons) >= 6, RTC  # the parser found the block
    assert reasons <= wire.DISCONNECT_REASONS, reasons - wire.DISCONNECT_REASONS


def test_go_constant_reader():
    src = """
package x

const (
	// A comment.
	A = 64 << 10 // trailing
	B int = 2 * A
	C = "text"
	D PeerKind = iota + 1
	E = 30 * time.Second
)

const F = 0x1f
"""
    got = goconst.parse(src)
    assert got == {"A": 65536, "B": 131072, "C": "text", "F": 31}
