"""How `porthole ctl diagnose` shows a session's diagnosis to a person: the
verdict and hints first, then the candidates and pairs the device side saw.
Addresses are shown: ctl is for the device's admins."""

from __future__ import annotations

from porthole.ctl.render import block, table, when
from porthole.rpc.v1 import admin_pb2 as apb
from porthole.rpc.v1 import sidecar_pb2 as pb

TURN_WORDS = {
    "ok": "allocated (a relay candidate was gathered)",
    "failed": "FAILED: TURN configured but no relay candidate",
    "pending": "still gathering",
    "not_configured": "no TURN server for this session",
}


def _cand(c: pb.IceCandidateInfo) -> str:
    if not c.type:
        return "?"
    via = f" via {c.relay_protocol}" if c.relay_protocol else ""
    return f"{c.type} {c.protocol}{via} {c.address}"


def diagnosis(d: apb.Diagnosis) -> str:
    status = "live" if d.live else f"ended {when(d.ended_unix_micros)} ({d.end_reason or '-'})"
    items: list[tuple[str, object]] = [
        ("state", status),
        ("ice / peer", f"{d.ice_state or '-'} / {d.peer_state or '-'}"),
        ("relay policy", d.relay_policy or "all"),
        ("ice servers", ", ".join(d.ice_server_urls) or "(none given by the server)"),
    ]
    ice = d.ice if d.HasField("ice") else None
    if ice is not None:
        items += [
            (
                "gathered",
                f"{ice.host_candidates} host, {ice.srflx_candidates} srflx, {ice.relay_candidates} relay "
                f"(gathering {ice.gathering_state or '-'})",
            ),
            ("turn", TURN_WORDS.get(ice.turn_allocation, ice.turn_allocation or "-")),
        ]
        if ice.turn_error:
            items.append(("turn error", ice.turn_error))
        if ice.turn_urls:
            items.append(("turn urls", ", ".join(ice.turn_urls)))
        items.append(("remote cands", len(ice.remote_candidates)))
    else:
        items.append(("ice details", d.ice_error or "-"))
    out = block(f"session {d.session_id}", items)
    out += "\n\n" + (
        block("hints", [("-", h) for h in d.hints]) if d.hints else "hints\n  nothing looks wrong on the device side"
    )
    if ice is not None and ice.local_candidates:
        out += "\n\nlocal candidates\n" + _indent(
            table(
                ["TYPE", "PROTO", "ADDRESS", "RELAY VIA", "URL"],
                [[c.type, c.protocol, c.address, c.relay_protocol or "-", c.url or "-"] for c in ice.local_candidates],
            )
        )
    if ice is not None and ice.pairs:
        out += "\n\ncandidate pairs\n" + _indent(
            table(
                ["LOCAL", "REMOTE", "STATE", "NOMINATED", "CHECKS SENT/ANSWERED/RECEIVED", "RTT"],
                [
                    [
                        _cand(p.local),
                        _cand(p.remote),
                        p.state,
                        "yes" if p.nominated else "no",
                        f"{p.requests_sent}/{p.responses_received}/{p.requests_received}",
                        f"{p.rtt_ms:.1f}ms" if p.rtt_ms else "-",
                    ]
                    for p in ice.pairs
                ],
            )
        )
    return out


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def doctor(r: apb.DoctorResponse) -> str:
    width = max((len(c.name) for c in r.checks), default=0)
    lines = [f"{c.status.upper() if c.status != 'ok' else 'ok':4}  {c.name.ljust(width)}  {c.detail}" for c in r.checks]
    lines.append("")
    lines.append("all checks passed" if r.ok else "some checks FAILED")
    return "\n".join(lines)
