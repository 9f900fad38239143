"""Share tokens and the server's checks of invitations and joins (docs/protocol.md §2f),
without a network: who may be invited, whose token a join may use, each refusal's code."""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from porthole import resume, share, wire
from porthole.errors import PortholeError
from porthole.server import share_ns
from porthole.server.authz import Policy
from porthole.server.config import Device, User, UserGrant
from porthole.server.sessions import Session

KEY = Ed25519PrivateKey.generate()


def user(name: str, org: str = "demo", targets: tuple[str, ...] = ("*",), mode: str = "view") -> User:
    return User(
        name=name,
        org=org,
        password_hash="x",
        grants=(UserGrant(devices=("*",), targets=targets, kinds=("terminal",), mode=mode),),
    )


class Cfg:
    def __init__(self, *users: User) -> None:
        self.users = {u.name: u for u in users}
        self.devices = {"edge-1": Device(id="edge-1", name="edge", org="demo", secret_hash="x")}


OWNER = user("owner", mode="interactive")
COLLEAGUE = user("colleague")
OUTSIDER = user("outsider", targets=("other-*",))
STRANGER = user("stranger", org="elsewhere")
POLICY = Policy(Cfg(OWNER, COLLEAGUE, OUTSIDER, STRANGER))  # type: ignore[arg-type]


def session(kind: str = "terminal") -> Session:
    return Session(
        id="s_owner",
        user="owner",
        org="demo",
        device_id="edge-1",
        target_id="web",
        kind=kind,
        mode="interactive",
        client_sid="c",
        agent_sid="a",
        grant="g",
        cols=80,
        rows=24,
        created_at=0,
        offer_deadline=0,
    )


def code_of(f, *args) -> str:
    with pytest.raises(PortholeError) as e:
        f(*args)
    return e.value.code


def test_invite_a_user_who_may_see_the_target():
    out = share_ns.invite(KEY, POLICY, OWNER, session(), "colleague", 600)
    tok = share.verify(out["token"], KEY.public_key(), device_id="edge-1")
    assert (tok.user, tok.owner, tok.session_id, tok.target_id) == ("colleague", "owner", "s_owner", "web")
    assert share.for_user(tok, "colleague", "demo") and not share.for_user(tok, "outsider", "demo")


@pytest.mark.parametrize(
    "invitee, code",
    [
        ("outsider", wire.SHARE_DENIED),
        ("stranger", wire.SHARE_DENIED),
        ("nobody", wire.SHARE_DENIED),
        ("owner", wire.SHARE_DENIED),
    ],
)
def test_invite_refused(invitee, code):
    assert code_of(share_ns.invite, KEY, POLICY, OWNER, session(), invitee, 600) == code


def test_a_screen_is_shared_with_those_who_may_see_screens():
    assert share_ns.invite(KEY, POLICY, OWNER, session("screen"), None, 600)["ok"]
    # The colleague's grant covers terminals only.
    assert code_of(share_ns.invite, KEY, POLICY, OWNER, session("screen"), "colleague", 600) == wire.SHARE_DENIED


def test_join_checks():
    link = share_ns.invite(KEY, POLICY, OWNER, session(), None, 600)["token"]
    pub = KEY.public_key()
    ok = share_ns.check_join(
        {"session_id": "s_owner", "token": link}, pub, POLICY, COLLEAGUE, "edge-1", "web", "terminal"
    )
    assert ok == {"session_id": "s_owner", "token": link}
    raw = {"session_id": "s_owner", "token": link}
    # A link of the org, but the user may not see the target.
    assert code_of(share_ns.check_join, raw, pub, POLICY, OUTSIDER, "edge-1", "web", "terminal") == wire.SHARE_DENIED
    # Another org's user.
    assert code_of(share_ns.check_join, raw, pub, POLICY, STRANGER, "edge-1", "web", "terminal") == wire.SHARE_DENIED
    # Another target or session than the token's.
    assert code_of(share_ns.check_join, raw, pub, POLICY, COLLEAGUE, "edge-1", "db", "terminal") == wire.SHARE_INVALID
    other = {"session_id": "s_other", "token": link}
    assert (
        code_of(share_ns.check_join, other, pub, POLICY, COLLEAGUE, "edge-1", "web", "terminal") == wire.SHARE_INVALID
    )
    # A token of another device, type or key; an expired one.
    with pytest.raises(PortholeError) as e:
        share.verify(link, pub, device_id="edge-2")
    assert e.value.code == wire.SHARE_INVALID
    rtok = resume.sign(KEY, session_id="s_owner", user="colleague", org="demo", device_id="edge-1", target_id="web")
    with pytest.raises(PortholeError) as e:
        share.verify(rtok, pub, device_id="edge-1")
    assert e.value.code == wire.SHARE_INVALID
    with pytest.raises(PortholeError) as e:
        share.verify(link, Ed25519PrivateKey.generate().public_key(), device_id="edge-1")
    assert e.value.code == wire.SHARE_INVALID
    old = share.sign(
        KEY,
        session_id="s_owner",
        user="*",
        owner="owner",
        org="demo",
        device_id="edge-1",
        target_id="web",
        now=time.time() - 3600,
    )
    with pytest.raises(PortholeError) as e:
        share.verify(old, pub, device_id="edge-1")
    assert e.value.code == wire.SHARE_EXPIRED


def test_the_owner_cannot_join_its_own_session():
    link = share_ns.invite(KEY, POLICY, OWNER, session(), None, 600)["token"]
    raw = {"session_id": "s_owner", "token": link}
    pub = KEY.public_key()
    assert code_of(share_ns.check_join, raw, pub, POLICY, OWNER, "edge-1", "web", "terminal") == wire.SHARE_DENIED
