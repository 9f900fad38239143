"""`porthole ctl COMMAND`: sessions | show ID | watch | close ID | stats | health | diagnose ID |
doctor.

Talks to the agent's admin API on its unix socket (default: the one the agent
uses by default, or $PORTHOLE_ADMIN_SOCKET) or, with --target, on its
mutual-TLS port. Tables for people, --json for scripts; every call has a
deadline (--timeout). Exit codes: 0 ok, 1 the call failed, health is not
ok, diagnose found something wrong or a doctor check failed, 2 usage, 3 agent
unreachable, 4 permission denied (see docs/ctl.md).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

import grpc

from porthole.agent.adminconfig import default_socket_path
from porthole.ctl import render, render_diag
from porthole.ctl.client import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, CtlError, Endpoint
from porthole.rpc.v1 import admin_pb2 as apb

# Every unary call's deadline unless --timeout says otherwise: the agent is
# local and answers in milliseconds, a sidecar that hangs costs it 2 s.
DEFAULT_TIMEOUT_S = 5.0
COMMANDS = ("sessions", "show", "watch", "close", "stats", "health", "diagnose", "doctor")
# `doctor` waits for a TURN allocation test (up to 10 s in porthole-core, doctor.py) and the server's
# answer: its deadline is at least this, whatever --timeout says.
DOCTOR_MIN_TIMEOUT_S = 20.0


def _common(p: argparse.ArgumentParser, suppress: bool) -> None:
    """Connection and output options, accepted before or after the command."""
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    g = p.add_argument_group("connection and output")
    g.add_argument(
        "--socket", type=Path, default=d(None), help=f"the agent's admin unix socket (default: {default_socket_path()})"
    )
    g.add_argument(
        "--target",
        default=d(""),
        metavar="HOST:PORT",
        help="the agent's mutual-TLS admin listener ([admin] listen) instead of the socket",
    )
    g.add_argument("--tls-ca", type=Path, default=d(None), metavar="PEM", help="CA that signed the agent's certificate")
    g.add_argument("--tls-cert", type=Path, default=d(None), metavar="PEM", help="this client's certificate")
    g.add_argument("--tls-key", type=Path, default=d(None), metavar="PEM", help="this client's private key")
    g.add_argument(
        "--tls-server-name",
        default=d(""),
        metavar="NAME",
        help="name to expect in the agent's certificate (default: HOST)",
    )
    g.add_argument(
        "--timeout",
        type=float,
        default=d(DEFAULT_TIMEOUT_S),
        metavar="S",
        help=f"deadline of each call, seconds (default {DEFAULT_TIMEOUT_S:g})",
    )
    g.add_argument("--json", action="store_true", default=d(False), help="machine-readable output")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Debug live sessions through the agent's admin gRPC API (docs/ctl.md)."
    _common(p, suppress=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_text, description=help_text)
        _common(sp, suppress=True)
        return sp

    s = cmd("sessions", "a table of the live sessions")
    s.add_argument("--limit", type=int, default=0, help="at most this many (default: all, up to 1000)")
    cmd("show", "everything about one session").add_argument("session_id", metavar="ID")
    w = cmd("watch", "a live stream of session events (Ctrl-C stops)")
    w.add_argument("--session", default="", metavar="ID", help="only this session's events")
    w.add_argument("--count", type=int, default=0, metavar="N", help="stop after N events")
    w.add_argument(
        "--for",
        dest="duration",
        type=float,
        default=0.0,
        metavar="S",
        help="stop after S seconds (default: run until Ctrl-C)",
    )
    c = cmd("close", "end a session, with the same cleanup as any close")
    c.add_argument("session_id", metavar="ID")
    c.add_argument("--reason", default="", help="reason code recorded (default closed_by_admin)")
    cmd("stats", "agent-wide figures")
    cmd("health", "health of the agent and its sidecar (exit 1 when not ok)")
    cmd(
        "diagnose",
        "why a session connects badly or did not connect, as the device saw it: candidates, pairs, TURN, "
        "hints (also for a recently failed session; exit 1 when something looks wrong)",
    ).add_argument("session_id", metavar="ID")
    cmd(
        "doctor",
        "check this device: Docker, sidecar, signaling server, a TURN allocation (exit 1 when a check fails)",
    )


def _endpoint(args: argparse.Namespace) -> Endpoint:
    if args.target:
        if args.socket:
            raise CtlError("give --socket or --target, not both", EXIT_USAGE)
        if not (args.tls_ca and args.tls_cert and args.tls_key):
            raise CtlError(
                "--target needs --tls-ca, --tls-cert and --tls-key (the TCP admin listener is mutual TLS only)",
                EXIT_USAGE,
            )
        return Endpoint(
            target=args.target,
            tls_ca=args.tls_ca,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            tls_server_name=args.tls_server_name,
        )
    return Endpoint(socket=args.socket or default_socket_path())


def run(args: argparse.Namespace) -> int:
    try:
        if args.timeout <= 0:
            raise CtlError("--timeout must be positive", EXIT_USAGE)
        ep = _endpoint(args)
        channel, stub = ep.stub()
        with channel:
            try:
                return _COMMANDS[args.command](stub, args)
            except grpc.RpcError as e:
                raise ep.explain(e, args.timeout) from None
    except CtlError as e:
        print(f"porthole ctl: {e.message}", file=sys.stderr, flush=True)
        return e.exit_code


def _out(text: str) -> None:
    print(text, flush=True)


def _sessions(stub, args) -> int:
    resp = stub.ListSessions(apb.ListSessionsRequest(limit=max(0, args.limit)), timeout=args.timeout)
    _out(render.dumps(resp) if args.json else render.sessions(resp))
    return EXIT_OK


def _show(stub, args) -> int:
    resp = stub.GetSession(apb.GetSessionRequest(session_id=args.session_id), timeout=args.timeout)
    _out(render.dumps(resp) if args.json else render.session(resp))
    return EXIT_OK


def _watch(stub, args) -> int:
    call = stub.WatchEvents(
        apb.AdminWatchEventsRequest(session_id=args.session), timeout=args.duration if args.duration > 0 else None
    )
    # SIGTERM ends the watch as Ctrl-C does: cancel the call, exit 0.
    signal.signal(signal.SIGTERM, lambda *_: call.cancel())
    # The agent sends initial metadata once we are subscribed; that wait has the usual deadline.
    timer = threading.Timer(args.timeout, call.cancel)
    timer.daemon = True
    timer.start()
    try:
        call.initial_metadata()  # returns also when the call failed
    except KeyboardInterrupt:
        call.cancel()
        return EXIT_OK
    finally:
        timer.cancel()
    if call.done():
        if call.code() == grpc.StatusCode.CANCELLED:
            raise CtlError(
                f"the agent at {args.socket or args.target or default_socket_path()} did not answer "
                f"within {args.timeout:g} s",
                EXIT_UNREACHABLE,
            )
        raise call  # the call is its own grpc.RpcError: run() explains it
    try:
        # Confirmation on stderr, so stdout stays pure events (one JSON object per line with --json).
        print(
            f"watching session events on {args.socket or args.target or default_socket_path()} (Ctrl-C stops)",
            file=sys.stderr,
            flush=True,
        )
        for n, ev in enumerate(call, start=1):
            _out(render.dumps_line(ev) if args.json else render.event(ev))
            if args.count and n >= args.count:
                call.cancel()
                break
    except KeyboardInterrupt:
        call.cancel()
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.CANCELLED:
            return EXIT_OK
        if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED and args.duration > 0:
            return EXIT_OK  # --for elapsed
        if e.code() == grpc.StatusCode.UNAVAILABLE:
            raise CtlError("the agent ended the stream (it stopped?)", EXIT_FAILED) from None
        raise
    return EXIT_OK


def _close(stub, args) -> int:
    resp = stub.CloseSession(
        apb.AdminCloseSessionRequest(session_id=args.session_id, reason=args.reason), timeout=args.timeout
    )
    if args.json:
        _out(render.dumps(resp))
    else:
        _out(f"closed {args.session_id} ({resp.reason}); {resp.processes_killed} process(es) killed")
    return EXIT_OK


def _stats(stub, args) -> int:
    resp = stub.GetStats(apb.AdminGetStatsRequest(), timeout=args.timeout)
    _out(render.dumps(resp) if args.json else render.stats(resp))
    return EXIT_OK


def _health(stub, args) -> int:
    resp = stub.Health(apb.HealthRequest(), timeout=args.timeout)
    _out(render.dumps(resp) if args.json else render.health(resp))
    return EXIT_OK if resp.ok else EXIT_FAILED


def _diagnose(stub, args) -> int:
    resp = stub.Diagnose(apb.DiagnoseRequest(session_id=args.session_id), timeout=args.timeout)
    _out(render.dumps(resp) if args.json else render_diag.diagnosis(resp))
    return EXIT_FAILED if resp.hints else EXIT_OK


def _doctor(stub, args) -> int:
    resp = stub.Doctor(apb.DoctorRequest(), timeout=max(args.timeout, DOCTOR_MIN_TIMEOUT_S))
    _out(render.dumps(resp) if args.json else render_diag.doctor(resp))
    return EXIT_OK if resp.ok else EXIT_FAILED


_COMMANDS = {
    "sessions": _sessions,
    "show": _show,
    "watch": _watch,
    "close": _close,
    "stats": _stats,
    "health": _health,
    "diagnose": _diagnose,
    "doctor": _doctor,
}
