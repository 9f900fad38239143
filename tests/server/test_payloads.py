"""Every parser of Socket.IO input, fed random JSON-like values: it returns or
raises PortholeError, nothing else (a small seeded fuzz run)."""

from __future__ import annotations

import random
from typing import Any

from porthole.errors import PortholeError
from porthole.server import payloads

RUNS = 3000
KEYS = ["session_id", "sdp", "type", "candidate", "sdpMid", "sdpMLineIndex", "usernameFragment", "reason",
        "code", "message", "targets", "id", "kind", "name", "label", "state", "device_id", "target_id",
        "cols", "rows", "mode", "secret", "token"]


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
        return rng.choice(["", "a", "offer", "answer", "terminal", "host", "container", "view", "edge-1",
                           "x" * rng.randrange(0, 70000), "\x00\x1b[31m", "\ud800", "é" * 40000])
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
    c = payloads.candidate({"candidate": {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host",
                                          "sdpMid": "0", "sdpMLineIndex": 0, "evil": {"x": 1}}})
    assert c == {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
    assert payloads.candidate({"candidate": None}) is None
    # End-of-candidates in RTCIceCandidateInit form (empty candidate string) is fine.
    assert payloads.candidate({"candidate": {"candidate": "", "sdpMid": "0"}})["candidate"] == ""


def test_lone_surrogates_are_refused() -> None:
    for parse in (lambda: payloads.sdp({"sdp": "v=0\ud800"}, "offer"),
                  lambda: payloads.reason({"reason": "\udfff"}, "closed"),
                  lambda: payloads.candidate({"candidate": {"candidate": "c\ud800", "sdpMid": "0"}})):
        try:
            parse()
        except PortholeError as e:
            assert e.code == "bad_request"
        else:
            raise AssertionError("accepted a lone surrogate")
