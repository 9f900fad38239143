"""agent/diagnosis.py without a network: what the book keeps (bounded, failed
sessions only, whichever of the agent's end and porthole-core's close comes
first) and the hints it gives."""

from __future__ import annotations

from porthole.agent.diagnosis import DiagnosisBook, diagnose_ended, diagnose_live, hints, strip_url
from porthole.events import Event
from porthole.rpc.v1 import admin_pb2 as apb
from porthole.rpc.v1 import sidecar_pb2 as pb

TURN = "turn:10.0.0.1:3478?transport=udp"


def failed_ice() -> pb.IceDiagnosis:
    return pb.IceDiagnosis(
        host_candidates=1,
        turn_configured=True,
        turn_urls=[TURN],
        turn_allocation="failed",
        turn_error="failed to allocate on TURN client 10.0.0.1:3478 timeout",
        gathering_state="complete",
        remote_candidates=[pb.IceCandidateInfo(type="host", address="10.1.0.1:5000", protocol="udp")],
        pairs=[pb.IceCandidatePairInfo(state="failed", requests_sent=8)],
    )


def open_session(book: DiagnosisBook, sid: str) -> None:
    book.on_event(Event("session.ice", sid, {"ice_servers": f"stun:10.0.0.1:3478 {TURN}", "relay_policy": "all"}))
    book.on_event(Event("session.state", sid, {"ice_state": "checking"}))


def test_a_failed_session_is_kept_with_porthole_cores_diagnosis_in_either_order():
    book = DiagnosisBook()
    open_session(book, "a")
    book.sidecar_closed("a", pb.SessionClosed(reason="ice_failed", ice=failed_ice()))  # before the agent's end
    book.on_event(Event("session.ended", "a", {"reason": "ice_failed"}))
    open_session(book, "b")
    book.on_event(Event("session.ended", "b", {"reason": "setup_timeout"}))
    book.sidecar_closed("b", pb.SessionClosed(reason="closed_by_agent", ice=failed_ice()))  # after it
    for sid in ("a", "b"):
        ended = book.recent(sid)
        assert ended is not None and ended.ice is not None, sid
        d = diagnose_ended(sid, ended)
        assert not d.live and d.ice_server_urls == ["stun:10.0.0.1:3478", TURN]
        assert d.hints[0].startswith("TURN configured for this session but no relay candidate: the allocation failed")
        assert "10.0.0.1:3478 timeout" in d.hints[0]


def test_a_session_that_connected_and_ended_normally_is_not_kept():
    book = DiagnosisBook()
    open_session(book, "ok")
    book.on_event(Event("session.state", "ok", {"ice_state": "connected"}))
    book.on_event(Event("session.ended", "ok", {"reason": "exit"}))
    assert book.recent("ok") is None and book.live("ok") is None


def test_the_book_is_bounded():
    book = DiagnosisBook(limit=3)
    for i in range(5):
        open_session(book, f"s{i}")
        book.on_event(Event("session.ended", f"s{i}", {"reason": "ice_failed"}))
    assert [book.recent(f"s{i}") is not None for i in range(5)] == [False, False, True, True, True]


def test_hints_without_turn_and_for_a_healthy_session():
    no_turn = pb.IceDiagnosis(host_candidates=1, turn_allocation="not_configured", gathering_state="complete")
    d = diagnose_live("x", None, "checking", "connecting", no_turn, "")
    assert d.hints[0].startswith("the device gathered no relay candidate: TURN is not configured or not reachable")
    assert any("no candidate of the browser reached the device" in h for h in d.hints)
    fine = pb.IceDiagnosis(host_candidates=1, relay_candidates=1, turn_allocation="ok", gathering_state="complete")
    assert hints(apb.Diagnosis(ice_state="connected", ice=fine)) == []
    assert hints(apb.Diagnosis(ice_error="sidecar unavailable: not running")) == [
        "no ICE details from porthole-core: sidecar unavailable: not running"
    ]


def test_urls_lose_any_userinfo():
    assert strip_url("turn:user:pw@10.0.0.1:3478?transport=tcp") == "turn:10.0.0.1:3478?transport=tcp"
    assert strip_url(TURN) == TURN
