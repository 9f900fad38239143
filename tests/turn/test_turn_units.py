"""porthole.turn on its own: the REST API formula and its refusals (the real
coturn agreeing with it is tests/turn/test_coturn.py)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from porthole import turn

SECRET = b"0123456789abcdef0123456789abcdef"
URLS = ("turn:turn.example:3478?transport=udp",)


def test_username_is_expiry_colon_principal_and_password_the_hmac():
    c = turn.mint(SECRET, "alice@acme", URLS, expires_at=1_900_000_000)
    assert c.username == "1900000000:alice@acme"
    assert c.credential == base64.b64encode(hmac.new(SECRET, c.username.encode(), hashlib.sha1).digest()).decode()
    assert c.to_wire() == {"urls": list(URLS), "username": c.username, "credential": c.credential}


def test_ttl_counts_from_now():
    c = turn.mint_for(SECRET, "alice", URLS, 120, now=1_000.4)
    assert c.expires_at == 1_120


@pytest.mark.parametrize("principal", ["", "a:b", "a b", "x" * 129, "é"])
def test_principal_outside_the_safe_set_is_refused(principal):
    with pytest.raises(ValueError, match="principal"):
        turn.mint(SECRET, principal, URLS, expires_at=1)


def test_short_secret_is_refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        turn.mint(b"short", "alice", URLS, expires_at=1)


def test_allowed_ranges_never_hold_the_turn_host():
    from porthole.bench.coturn import ranges_without

    assert ranges_without(("10.213.0.0-10.213.255.255", "1.2.3.4"), "10.213.7.1") == [
        "10.213.0.0-10.213.7.0",
        "10.213.7.2-10.213.255.255",
        "1.2.3.4",
    ]
    assert ranges_without(("10.213.7.1",), "10.213.7.1") == []
    assert ranges_without(("10.213.7.1-10.213.7.9",), "10.213.7.9") == ["10.213.7.1-10.213.7.8"]
    assert ranges_without(("fd00::1-fd00::9",), "10.213.7.1") == ["fd00::1-fd00::9"]
