"""Every parser of Socket.IO input, fed random JSON-like values: it returns or
raises PortholeError, nothing else (a small seeded fuzz run)."""

from __future__ import annotations

import random
from typing import Any

from porthole import wire
from porthole.errors import PortholeError
from porthole.server import payloads

RUNS = 3000
KEYS = [
    "session_id",
    "sdp",
    "type",
    "candidate",
    "sdpMid",
    "sdpMLineIndex",
    "usernameFragment",
    "reason",
    "code",
    "message",
    "targets",
    "id",
    "kind",
    "name",
    "label",
    "state",
    "device_id",
    "target_id",
    "cols",
    "rows",
    "mode",
    "secret",
    "token",
]


def value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice([0, -1, 1, 24, 80, 1000, 1001, 2**63, rng.randrange(-5, 5000)])
    if choice == 3:
        return rng.random() * 1e6
    if choice == 4:
        return rng.choice(
            [
                "",
                "a",
                "offer",
                "answer",
                "terminal",
                "host",
                "container",
                "view",
                "edge-1",
                "x" * rng.randrange(0, 70000),
                "\x00\x1b[31m",
                "\ud800",
                "é" * 40000,
            ]
        )
    if choice == 5:
        return "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(0, 40)))
    if choice == 6:
        return [value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if choice == 7:
        return {"targets": [value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]}
    return {rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randrange(0, 6))}


def test_parsers_only_raise_porthole_errors() -> None:
    rng = random.Random(20260101)
    parsers = [
        payloads.open_request,
        payloads.inventory,
        payloads.agent_auth,
        lambda v: payloads.sdp(payloads.obj(v), "offer"),
        lambda v: payloads.candidate(payloads.obj(v)),
        lambda v: payloads.error(payloads.obj(v)),
        lambda v: payloads.reason(payloads.obj(v), "closed"),
        lambda v: payloads.session_id(payloads.obj(v)),
        lambda v: payloads.dim(payloads.obj(v), "cols", 80),
    ]
    accepted = 0
    for _ in range(RUNS):
        v = value(rng)
        for parse in parsers:
            try:
                parse(v)
                accepted += 1
            except PortholeError as e:
                assert e.code in ("bad_request", "unauthenticated")
    assert accepted > 0


def test_candidate_is_rebuilt_from_known_fields() -> None:
    c = payloads.candidate(
        {
            "candidate": {
                "candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                "sdpMid": "0",
                "sdpMLineIndex": 0,
                "evil": {"x": 1},
            }
        }
    )
    assert c == {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    assert payloads.candidate({"candidate": None}) is None
    # End-of-candidates in RTCIceCandidateInit form (empty candidate string) is fine.
    end = payloads.candidate({"candidate": {"candidate": "", "sdpMid": "0"}})
    assert end is not None and end["candidate"] == ""


def test_lone_surrogates_are_refused() -> None:
    for parse in (
        lambda: payloads.sdp({"sdp": "v=0\ud800"}, "offer"),
        lambda: payloads.reason({"reason": "\udfff"}, "closed"),
        lambda: payloads.candidate({"candidate": {"candidate": "c\ud800", "sdpMid": "0"}}),
    ):
        try:
            parse()
        except PortholeError as e:
            assert e.code == "bad_request"
        else:
            raise AssertionError("accepted a lone surrogate")


def _refused(parse) -> bool:
    try:
        parse()
    except PortholeError as e:
        assert e.code == "bad_request"
        return True
    return False


def test_limits_are_the_wire_rules() -> None:
    """The server's edges are porthole.wire's, so that nothing it acks is refused by the device."""

    def cand(idx: object) -> dict:
        return {"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMLineIndex": idx}}

    assert not _refused(lambda: payloads.candidate(cand(wire.MAX_MLINE_INDEX)))
    assert _refused(lambda: payloads.candidate(cand(wire.MAX_MLINE_INDEX + 1)))  # was accepted up to 1024
    assert not _refused(lambda: payloads.session_id({"session_id": "s" * wire.MAX_SESSION_ID_LEN}))
    assert _refused(lambda: payloads.session_id({"session_id": "s" * (wire.MAX_SESSION_ID_LEN + 1)}))
    assert _refused(lambda: payloads.session_id({"session_id": "s_<script>"}))  # the device's character set
    assert not _refused(lambda: payloads.reason({"reason": "r" * wire.MAX_REASON_LEN}, "closed"))
    assert _refused(lambda: payloads.reason({"reason": "r" * (wire.MAX_REASON_LEN + 1)}, "closed"))
    for n in (wire.MIN_DIM, wire.MAX_DIM):
        assert payloads.dim({"cols": n}, "cols", 80) == n
    for n in (wire.MIN_DIM - 1, wire.MAX_DIM + 1):
        assert _refused(lambda n=n: payloads.dim({"cols": n}, "cols", 80))
    targets = [{"id": f"t{i}"} for i in range(wire.MAX_TARGETS)]
    assert len(payloads.inventory({"targets": targets})) == wire.MAX_TARGETS
    assert _refused(lambda: payloads.inventory({"targets": [*targets, {"id": "one-more"}]}))
    assert _refused(lambda: payloads.inventory({"targets": [{"id": "t" * (wire.MAX_TARGET_ID_LEN + 1)}]}))
    assert {
        t["kind"] for t in payloads.inventory({"targets": [{"id": k, "kind": k} for k in wire.TARGET_KINDS]})
    } == set(wire.TARGET_KINDS)
