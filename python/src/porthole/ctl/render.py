"""How `porthole ctl` shows answers: plain dicts for --json (every field,
numbers as numbers), aligned tables and key/value blocks for people."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from porthole.rpc.v1 import admin_pb2 as apb

STRUCT = "google.protobuf.Struct"


# ---------------------------------------------------------------- JSON


def to_dict(msg: Message) -> dict:
    """Every field of msg (unset ones at their zero value, unset messages None);
    64-bit integers stay numbers, unlike the proto3 JSON mapping."""
    out: dict[str, object] = {}
    for f in msg.DESCRIPTOR.fields:
        value = getattr(msg, f.name)
        if f.message_type is not None and f.message_type.GetOptions().map_entry:
            vf = f.message_type.fields_by_name["value"]
            out[f.name] = {k: (to_dict(v) if vf.message_type else v) for k, v in sorted(value.items())}
        elif f.is_repeated:
            out[f.name] = [to_dict(v) if f.message_type else v for v in value]
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            if not msg.HasField(f.name):
                out[f.name] = None
            elif f.message_type is not None and f.message_type.full_name == STRUCT:
                out[f.name] = json_format.MessageToDict(value)
            else:
                out[f.name] = to_dict(value)
        elif f.type == FieldDescriptor.TYPE_ENUM and f.enum_type is not None:
            known = f.enum_type.values_by_number
            out[f.name] = known[value].name if value in known else value
        else:
            out[f.name] = value
    return out


def dumps(msg: Message) -> str:
    return json.dumps(to_dict(msg), indent=2, sort_keys=False)


def dumps_line(msg: Message) -> str:
    return json.dumps(to_dict(msg), separators=(",", ":"))


# ---------------------------------------------------------------- units


def human_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    v = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        v /= 1024
        if v < 1024 or unit == "TiB":
            return f"{v:.1f} {unit}"
    return f"{n} B"


def human_duration(ms: float) -> str:
    s = ms / 1000
    if s < 1:
        return f"{ms:.0f}ms"
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(int(s), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def when(micros: int) -> str:
    if not micros:
        return "-"
    t = dt.datetime.fromtimestamp(micros / 1e6, tz=dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def clock(micros: int) -> str:
    t = dt.datetime.fromtimestamp(micros / 1e6, tz=dt.UTC)
    return t.strftime("%H:%M:%S.%f")[:-3]


def rtt(ms: float) -> str:
    return f"{ms:.1f}ms" if ms else "-"


def pair(p: apb.SessionInfo) -> str:
    t = p.transport
    if not p.HasField("transport") or not t.HasField("selected_pair"):
        return "-"
    sp = t.selected_pair
    return f"{sp.local_type}/{sp.remote_type} {sp.protocol}"


# ---------------------------------------------------------------- tables


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    cells = [[str(c) for c in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(list(headers)), *(line(r) for r in cells)])


def block(title: str, items: Sequence[tuple[str, object]]) -> str:
    width = max((len(k) for k, _ in items), default=0)
    return "\n".join([title, *(f"  {k.ljust(width)}  {v}" for k, v in items)])


def sessions(resp: apb.ListSessionsResponse) -> str:
    if not resp.sessions:
        return "no live sessions"
    headers = ["SESSION", "USER", "TARGET", "KIND", "MODE", "STATE", "ICE", "PAIR", "RTT", "AGE", "IN", "OUT"]
    rows = []
    for s in resp.sessions:
        ice = s.transport.ice_state if s.HasField("transport") else s.ice_state
        rows.append(
            [
                s.session_id,
                s.user,
                s.target_id,
                s.kind,
                s.mode,
                s.state,
                ice,
                pair(s),
                rtt(s.transport.rtt_ms),
                human_duration(s.age_ms),
                human_bytes(s.bytes_from_peer),
                human_bytes(s.bytes_to_peer),
            ]
        )
    out = table(headers, rows)
    if resp.total > len(resp.sessions):
        out += f"\n({len(resp.sessions)} of {resp.total} shown)"
    return out


def session(s: apb.SessionInfo) -> str:
    parts = [
        block(
            f"session {s.session_id}",
            [
                ("kind", s.kind),
                ("mode", s.mode),
                ("state", s.state),
                ("user", f"{s.user} (org {s.org})"),
                ("device", s.device_id),
                ("target", f"{s.target_id} ({s.target_kind}{', ' + s.container_id[:12] if s.container_id else ''})"),
                ("exec id", s.exec_id or "-"),
                ("pid", s.pid or "-"),
                ("size", f"{s.cols}x{s.rows}" if s.cols else "-"),
                ("binary", "yes" if s.binary else "no"),
                ("grant expires", when(s.grant_expires_unix_micros)),
                ("opened", when(s.opened_unix_micros)),
                ("started", when(s.started_unix_micros)),
                ("setup", human_duration(s.setup_ms) if s.setup_ms else "-"),
                ("age", human_duration(s.age_ms)),
            ]
            + (
                [("bytes from peer", human_bytes(s.bytes_from_peer)), ("bytes to peer", human_bytes(s.bytes_to_peer))]
                if s.kind != "screen"
                else []
            ),
        )
    ]
    if not s.HasField("transport"):
        parts.append(block("transport", [("unavailable", s.transport_error)]))
        return "\n\n".join(parts)
    t = s.transport
    sp = t.selected_pair
    items = [("peer state", t.peer_state), ("ice state", t.ice_state)]
    if t.HasField("selected_pair"):
        items += [
            (
                "selected pair",
                f"{sp.local_type} {sp.local_address} <-> {sp.remote_type} {sp.remote_address} ({sp.protocol})",
            )
        ]
    else:
        items += [("selected pair", "-")]
    items += [
        ("rtt", rtt(t.rtt_ms)),
        ("bytes sent", human_bytes(t.bytes_sent)),
        ("bytes received", human_bytes(t.bytes_received)),
    ]
    parts.append(block("transport (sidecar)", items))
    if t.channels:
        parts.append(
            table(
                ["CHANNEL", "PROTOCOL", "STATE", "MSGS OUT", "MSGS IN", "BYTES OUT", "BYTES IN", "BUFFERED"],
                [
                    [
                        c.label,
                        c.protocol or "json",
                        c.state,
                        c.messages_sent,
                        c.messages_received,
                        human_bytes(c.bytes_sent),
                        human_bytes(c.bytes_received),
                        human_bytes(c.buffered_amount),
                    ]
                    for c in t.channels
                ],
            )
        )
    screen = getattr(t, "screen", None)
    if screen is not None and t.HasField("screen"):
        parts.append(
            block(
                "video",
                [
                    ("display", f"{screen.display_width}x{screen.display_height}"),
                    ("video", f"{screen.video_width}x{screen.video_height}"),
                    ("fps", f"{screen.fps:.1f} (target {screen.target_fps})"),
                    ("bitrate", f"{screen.bitrate_kbps:.0f} kbit/s (target {screen.target_bitrate_kbps})"),
                    ("frames", f"{screen.frames} ({screen.keyframes} keyframes, {screen.frames_skipped} skipped)"),
                    ("keyframe requests", screen.keyframe_requests),
                    ("input events", f"{screen.input_events} ({screen.input_errors} refused)"),
                    ("encode time", _encode_times(screen)),
                ],
            )
        )
    return "\n\n".join(parts)


# Fields that say what an event is about come first in `watch` lines; the rest follow sorted.
EVENT_FIELDS_FIRST = (
    "reason",
    "code",
    "side",
    "candidate",
    "ice_state",
    "peer_state",
    "user",
    "target",
    "kind",
    "mode",
    "pid",
    "exec_id",
    "cols",
    "rows",
)


def _encode_times(screen) -> str:
    out = f"last {screen.last_encode_ms:.1f}ms"
    fields = screen.DESCRIPTOR.fields_by_name  # p50/p99 came later: shown when the stubs have them
    if "encode_p50_ms" in fields and "encode_p99_ms" in fields:
        out += f", p50 {screen.encode_p50_ms:.1f}ms, p99 {screen.encode_p99_ms:.1f}ms"
    return out


def event(e: apb.AdminEvent) -> str:
    fields = json_format.MessageToDict(e.fields) if e.HasField("fields") else {}
    order = [k for k in EVENT_FIELDS_FIRST if k in fields] + sorted(k for k in fields if k not in EVENT_FIELDS_FIRST)
    text = " ".join(f"{k}={_short(fields[k])}" for k in order)
    return f"{clock(e.time_unix_micros)}  {e.session_id or '-':<24}  {e.name:<18}  {text}".rstrip()


def _short(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    s = v if isinstance(v, str) else json.dumps(v)
    if " " in s or not s or not s.isprintable():
        # Quoted and escaped: a field a client could influence (a reason, a candidate) must not
        # drive the operator's terminal with escape sequences (json escapes all but DEL).
        return json.dumps(s).replace("\x7f", "\\u007f")
    return s


def stats(s: apb.AgentStats) -> str:
    reasons = lambda m: ", ".join(f"{k} {v}" for k, v in sorted(m.items())) or "-"  # noqa: E731
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(s.open_by_kind.items()) if v) or "-"
    return block(
        f"agent {s.device_id} (up {human_duration(s.uptime_ms)})",
        [
            ("sessions open", f"{s.sessions_open} of {s.max_sessions} ({kinds})"),
            ("requested", s.sessions_requested),
            ("started", s.sessions_started),
            ("failed", f"{s.sessions_failed} ({reasons(s.failed_by_reason)})"),
            ("ended", f"{s.sessions_ended} ({reasons(s.ended_by_reason)})"),
            (
                "setup time",
                f"mean {human_duration(s.setup_ms_mean)}, max {human_duration(s.setup_ms_max)}"
                if s.sessions_started
                else "-",
            ),
            ("bytes from peers", human_bytes(s.bytes_from_peers)),
            ("bytes to peers", human_bytes(s.bytes_to_peers)),
            (
                "transport (live)",
                f"sent {human_bytes(s.transport_bytes_sent)}, received {human_bytes(s.transport_bytes_received)}",
            ),
            ("targets", s.targets),
            ("sidecar restarts", s.sidecar_restarts),
            ("signaling", "connected" if s.signaling_connected else "disconnected"),
        ],
    )


def signaling(h: apb.HealthResponse) -> str:
    """ "connected (url)", or the state, for how long, failed attempts and the last error."""
    state = h.signaling_state or ("connected" if h.signaling_connected else "disconnected")
    if state == "connected":
        return f"connected ({h.server_url})"
    parts = [f"{state} for {human_duration(h.signaling_disconnected_ms)}"]
    if h.signaling_failed_attempts:
        parts.append(f"{h.signaling_failed_attempts} failed attempts")
    if h.signaling_last_error:
        parts.append(f"last error {h.signaling_last_error}")
    return f"{', '.join(parts)} ({h.server_url})"


def health(h: apb.HealthResponse) -> str:
    sc = h.sidecar
    out = block(
        f"agent {h.device_id}: {'ok' if h.ok else 'NOT OK'}",
        [
            ("agent pid", h.agent_pid),
            ("uptime", human_duration(h.uptime_ms)),
            ("accepting", "yes" if h.accepting else "no"),
            ("signaling", signaling(h)),
            (
                "sidecar",
                f"{sc.status}, {'ready' if sc.ready else 'not ready'}, pid {sc.pid or '-'}, "
                f"{sc.restarts} restarts, check {sc.check_ms:.1f}ms",
            ),
            ("sidecar socket", sc.socket),
            ("sidecar sessions", sc.sessions),
            ("admin socket", h.admin_socket or "-"),
            ("admin tls", h.admin_tls_address or "-"),
            ("metrics", f"http://{h.metrics_address}/metrics" if h.metrics_address else "off"),
        ],
    )
    if h.problems:
        out += "\n" + block("problems", [("-", p) for p in h.problems])
    return out
