"""The sessions of one soak phase, on the real stack (porthole.bench.stack).

Workers (``parallel`` of them, so that many sessions are open at once) each
loop: open a terminal through the server the way the page does, type a
command and wait for its output, then end the session. Most end with the
page's close (webrtc:disconnect on signaling, then the peer connection
closed); every PEER_CLOSE_EVERY-th ends with only the peer connection closed
(no close message on the channel, nothing on signaling): the device learns it
from DTLS/SCTP alone.

Meanwhile, every ``drop_every_s``, a separate client process (dropper.py)
opens DROP_SESSIONS sessions and is dropped, alternating two ways:
``client_killed``: the process group SIGKILLed (signaling connection and
peers gone at once); ``peer_vanished``: only its pion process SIGKILLed (the
peers fall silent, signaling stays up), then after PEER_VANISH_HOLD_S it
reports how many of those sessions the device ended on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from porthole.bench.stack import Session, Stack

# Every PEER_CLOSE_EVERY-th session of a worker ends with its peer connection
# closed and no close message: often enough to be a fifth of the load.
PEER_CLOSE_EVERY = 5
# Sessions per dropped client: a browser with a few tabs.
DROP_SESSIONS = 3
# A silent peer is found by ICE consent (pion: disconnected after 5 s, failed
# 25 s later), then the agent kills the exec: 45 s leaves room on a busy
# machine. The dropper reports as soon as all its sessions ended, usually sooner.
PEER_VANISH_HOLD_S = 45.0
# The dropper imports socketio and starts porthole-bench, then opens its
# sessions: seconds normally, tens of seconds on a saturated 2-core machine.
DROPPER_READY_TIMEOUT_S = 120.0
DROPPER_REPORT_TIMEOUT_S = 20.0
# A command's output after it was typed: milliseconds normally.
TYPE_TIMEOUT_S = 30.0
# Error texts kept per run (the counts are complete; the texts are examples).
MAX_ERRORS_KEPT = 50

_tags = itertools.count(1)


@dataclass
class Tally:
    """What happened to every session of a run (or of one dropped client)."""

    attempted: int = 0
    established: int = 0  # channel open and the shell's first output received
    typed: int = 0  # a typed command's output came back
    ended: Counter = field(default_factory=Counter)  # how sessions ended: closed, peer_closed, ...
    vanished: int = 0  # sessions whose peers fell silent (peer_vanished)
    vanished_ended_by_device: int = 0  # of those, ended by the device within PEER_VANISH_HOLD_S
    errors: list[str] = field(default_factory=list)
    error_count: int = 0

    def error(self, what: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(what)

    def merge(self, d: dict[str, Any]) -> None:
        """Adds what a dropped client reported (as_dict of its own Tally)."""
        self.attempted += d["attempted"]
        self.established += d["established"]
        self.typed += d["typed"]
        self.error_count += d["error_count"]
        for e in d["errors"]:
            if len(self.errors) < MAX_ERRORS_KEPT:
                self.errors.append(e)

    def as_dict(self) -> dict[str, Any]:
        return {
            "attempted": self.attempted,
            "established": self.established,
            "typed": self.typed,
            "ended": dict(self.ended),
            "vanished": self.vanished,
            "vanished_ended_by_device": self.vanished_ended_by_device,
            "error_count": self.error_count,
            "errors": list(self.errors),
        }


class Budget:
    """How many sessions may still be attempted (None: no limit)."""

    def __init__(self, left: int | None) -> None:
        self.left = left

    def take(self, n: int = 1) -> bool:
        if self.left is None:
            return True
        if self.left < n:
            return False
        self.left -= n
        return True


async def open_and_type(stack: Stack, target: str, tally: Tally, tag: str | None = None) -> Session | None:
    """Opens a terminal and types one command in it; the session, or None when
    it could not be opened (counted and kept as an error either way)."""
    tag = tag or f"soak{next(_tags)}"
    tally.attempted += 1
    try:
        s = await stack.open_terminal(target)
    except Exception as e:  # noqa: BLE001 - every failure is a soak figure
        tally.error(f"open: {type(e).__name__}: {e}")
        return None
    tally.established += 1
    # The shell echoes the line as typed (so""akN); only the command's output reads soakN.
    line = f'echo {tag[:2]}""{tag[2:]}\r'
    try:
        await stack.peer.request(
            "drain", peer=s.peer, input=line, marker=tag, timeout_s=TYPE_TIMEOUT_S, timeout=TYPE_TIMEOUT_S + 10
        )
        tally.typed += 1
    except Exception as e:  # noqa: BLE001
        tally.error(f"type {s.id}: {type(e).__name__}: {e}")
    return s


async def _close(stack: Stack, s: Session, how: str, tally: Tally) -> None:
    try:
        if how == "closed":
            await stack.close_terminal(s)
        else:  # peer_closed: the peer connection only; no close message, nothing on signaling
            stack.sessions.pop(s.id, None)
            await stack.peer.request("close", peer=s.peer)
        tally.ended[how] += 1
    except Exception as e:  # noqa: BLE001
        tally.error(f"{how} {s.id}: {type(e).__name__}: {e}")


@dataclass
class DropperArgs:
    """How a dropped client reaches the server; the password stays in its file."""

    url: str
    username: str
    password_file: str
    device_id: str
    target: str


async def _drop_client(cfg: DropperArgs, kind: str, tally: Tally) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "porthole.bench.soak.dropper",
        "--url",
        cfg.url,
        "--username",
        cfg.username,
        "--password-file",
        cfg.password_file,
        "--device",
        cfg.device_id,
        "--target",
        cfg.target,
        "--sessions",
        str(DROP_SESSIONS),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )  # its own process group: porthole-bench dies with it
    assert proc.stdout is not None and proc.stdin is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), DROPPER_READY_TIMEOUT_S)
        if not line:
            tally.error(f"dropper exited ({await proc.wait()}) before reporting")
            tally.attempted += DROP_SESSIONS
            return
        r = json.loads(line)
        tally.merge(r)
        if kind == "client_killed":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            os.kill(r["peer_pid"], signal.SIGKILL)
            try:  # printed as soon as the device has ended all of them
                line = await asyncio.wait_for(proc.stdout.readline(), PEER_VANISH_HOLD_S)
            except TimeoutError:
                proc.stdin.write(b"report\n")
                await proc.stdin.drain()
                line = await asyncio.wait_for(proc.stdout.readline(), DROPPER_REPORT_TIMEOUT_S)
            rep = json.loads(line)
            tally.vanished += rep["of"]
            tally.vanished_ended_by_device += rep["ended_by_device"]
        tally.ended[kind] += r["established"]
    except Exception as e:  # noqa: BLE001
        tally.error(f"dropper {kind}: {type(e).__name__}: {e}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


async def run_phase(
    stack: Stack,
    target: str,
    tally: Tally,
    *,
    until: float,
    parallel: int,
    budget: Budget,
    drop_every_s: float,
    dropper: DropperArgs | None,
    vanish: bool = True,
) -> None:
    """Runs sessions until the loop time `until` or the budget runs out, then
    waits for every session of the phase (and every dropped client) to end.
    vanish=False drops clients only by killing them (the warm-up: no time spent
    waiting for ICE)."""
    loop = asyncio.get_running_loop()
    done = asyncio.Event()

    async def worker() -> None:
        n = 0
        while loop.time() < until and budget.take():
            n += 1
            s = await open_and_type(stack, target, tally)
            if s is not None:
                await _close(stack, s, "peer_closed" if n % PEER_CLOSE_EVERY == 0 else "closed", tally)

    async def drops() -> None:
        if dropper is None:
            return
        tasks, kinds = [], itertools.cycle(("peer_vanished", "client_killed"))
        while not done.is_set():
            kind = next(kinds)
            if kind == "peer_vanished" and (not vanish or loop.time() + PEER_VANISH_HOLD_S > until):
                kind = "client_killed"  # no time left in this phase to wait for the device
            if loop.time() >= until or not budget.take(DROP_SESSIONS):
                break
            tasks.append(asyncio.create_task(_drop_client(dropper, kind, tally)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), drop_every_s)
        await asyncio.gather(*tasks)

    dropping = asyncio.create_task(drops())
    await asyncio.gather(*(worker() for _ in range(parallel)))
    done.set()
    await dropping
