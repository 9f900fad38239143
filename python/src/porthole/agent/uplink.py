"""The agent's link to the signaling server: one supervised task owns
connect → wait for the loss → back off → connect again.

python-socketio's own reconnection is off (`reconnection=False` on the
client): it does not reconnect after a disconnect the server asked for (a
graceful server stop), and it would run a second loop beside ours. Here every
loss — a graceful stop, a crash, a network cut, a refused or failed connect —
takes the same path: a capped, jittered delay, then a fresh attempt with
credentials read again (a rotated secret takes effect). There is only ever one
loop: `start()` refuses to start a second.

With several server URLs (nodes of one deployment on a shared Redis), every
attempt after a loss or a failure goes to the next URL in turn: a node that
died is left at once, and the device's sessions, peer to peer, are routed
through the node it reaches next. A node that stops says `server:draining`
first: the agent then leaves by itself and connects to the next URL after a
short jittered delay (`DRAIN_DELAY_MAX_S`), without backing off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import socketio

from porthole.agent import tls
from porthole.agent.views import UplinkStatus
from porthole.errors import PortholeError

log = logging.getLogger("porthole.agent")

CONNECTED, CONNECTING, DISCONNECTED = "connected", "connecting", "disconnected"
STATES = (CONNECTED, CONNECTING, DISCONNECTED)
# One attempt (TCP, websocket upgrade, the server's scrypt check of the
# secret) answers within a second on a healthy link; past this it is lost.
CONNECT_TIMEOUT_S = 10.0
# A connection that lasted this long was a good one: the next loss backs off
# from the first step again. Shorter ones (a server that accepts and drops at
# once, another agent with our device id) keep growing the delay.
STABLE_AFTER_S = 10.0
# Each delay is drawn from [d * (1 - JITTER), d]: a fleet that lost the same
# server does not come back in one instant, and no delay exceeds the cap.
JITTER = 0.5
# How often the wait for a loss looks at the client's own flag too, in case
# a loss ever comes without its `disconnect` event.
LOST_POLL_S = 1.0
# The server's refusal message is logged, cut to this many characters.
MAX_LOGGED_MESSAGE = 200
# A refusal without a code from the server (or no answer at all).
UNREACHABLE = "unreachable"
# After `server:draining`: the next connect within this long (jittered: a node's
# whole fleet does not land on the next node in one instant).
DRAIN_DELAY_MAX_S = 0.5


def backoff_delay(attempt: int, base_s: float, max_s: float, rand: Callable[[], float] = random.random) -> float:
    """Delay before retry number `attempt` (0 = the first): doubling from base_s, capped at max_s, jittered."""
    d = min(max_s, base_s * 2 ** min(attempt, 32))
    return d * (1 - JITTER * rand())


def client(ca_file: Path | None) -> socketio.AsyncClient:
    """The link's Socket.IO client: no reconnection of its own (the loop below does it), and the
    server's certificate verified against ca_file or the system's store (tls.py), never off."""
    session = tls.session_factory(tls.client_context(ca_file))
    return socketio.AsyncClient(reconnection=False, handle_sigint=False, http_session=session)


class Uplink:
    def __init__(
        self,
        sio: socketio.AsyncClient,
        urls: str | Sequence[str],
        namespace: str,
        *,
        auth: Callable[[], dict[str, str]],
        on_connected: Callable[[], Awaitable[None]],
        delay_s: float,
        delay_max_s: float,
        ca_file: Path | None = None,
    ) -> None:
        self.sio = sio
        self.urls = (urls,) if isinstance(urls, str) else tuple(urls)
        if not self.urls:
            raise ValueError("no server URL")
        self._at = 0  # index of the URL of the current (or next) attempt
        self._draining = False
        self.namespace = namespace
        self._auth = auth
        self._on_connected = on_connected
        self.delay_s, self.delay_max_s = delay_s, delay_max_s
        self.ca_file = ca_file  # whom the client trusts (client() below); named in TLS failures
        self.state = DISCONNECTED
        self._down_since = time.monotonic()
        self._failed = 0
        self._last_error = ""
        self._refusal: tuple[str, str] | None = None  # (code, message) of the server's refusal
        self._lost = asyncio.Event()
        self._task: asyncio.Task | None = None
        sio.on("connect", self._handle_connect, namespace=namespace)
        sio.on("disconnect", self._handle_disconnect, namespace=namespace)
        sio.on("connect_error", self._handle_connect_error, namespace=namespace)
        sio.on("server:draining", self._handle_draining, namespace=namespace)

    @property
    def url(self) -> str:
        """The server URL of the current (or next) attempt."""
        return self.urls[self._at]

    def status(self) -> UplinkStatus:
        down = 0.0 if self.state == CONNECTED else time.monotonic() - self._down_since
        return UplinkStatus(self.state, down, self._failed, self._last_error)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> None:
        if self._task is not None and not self._task.done():
            raise RuntimeError("the signaling loop is already running")
        self._task = asyncio.create_task(self._run(), name="signaling")

    async def stop(self) -> None:
        """Ends the loop, then the connection (the server sees a clean disconnect)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        self._mark_down()

    # ---------------------------------------------------------------- the loop

    async def _run(self) -> None:
        step = 0  # backoff step: reset by a stable connection
        while True:
            up_at = await self._attempt()
            if up_at is not None:
                self._failed = 0
                await self._wait_lost()
                step = 0 if time.monotonic() - up_at >= STABLE_AFTER_S else step
            else:
                self._failed += 1
            if self._draining:
                self._draining = False
                delay = DRAIN_DELAY_MAX_S * random.random()
            else:
                delay = backoff_delay(step, self.delay_s, self.delay_max_s)
                step += 1
            self._at = (self._at + 1) % len(self.urls)
            where = f" to {self.url}" if len(self.urls) > 1 else ""
            if up_at is not None:
                log.warning("disconnected from server (%s); reconnecting%s in %.1f s", self._last_error, where, delay)
            else:
                log.info("next connect attempt%s in %.1f s", where, delay)
            await asyncio.sleep(delay)

    async def _attempt(self) -> float | None:
        """One connect; the monotonic time it connected, or None (logged with its code)."""
        self.state = CONNECTING
        self._lost.clear()
        self._refusal = None
        try:
            auth = self._auth()  # read again on every attempt
        except PortholeError as e:
            self._failed_attempt(e.code, e.message)
            return None
        with contextlib.suppress(Exception):
            await self.sio.disconnect()  # leftovers of a half-dead engine.io connection
        try:
            await asyncio.wait_for(
                self.sio.connect(
                    self.url,
                    namespaces=[self.namespace],
                    auth=auth,
                    transports=["websocket"],
                    wait_timeout=CONNECT_TIMEOUT_S,
                ),
                CONNECT_TIMEOUT_S * 2,
            )
        except (socketio.exceptions.ConnectionError, TimeoutError) as e:
            code, detail = self._refusal or tls.classify(e, self.ca_file) or (UNREACHABLE, str(e) or type(e).__name__)
            self._failed_attempt(code, detail)
            return None
        return time.monotonic()

    def _failed_attempt(self, code: str, detail: str) -> None:
        self.state = DISCONNECTED
        self._last_error = code
        log.error("connect to server failed (attempt %d): %s: %s", self._failed + 1, code, detail)
        return None

    async def _wait_lost(self) -> None:
        # The namespace too: a server that drops it while connect() is still returning
        # sends a disconnect the client ignores (it does not count itself connected yet).
        while not self._lost.is_set() and self.sio.connected and self.namespace in self.sio.namespaces:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), LOST_POLL_S)
        self._mark_down()

    def _mark_down(self) -> None:
        if self.state == CONNECTED:
            self._down_since = time.monotonic()
        self.state = DISCONNECTED

    # ---------------------------------------------------------------- client events

    async def _handle_connect(self) -> None:
        if len(self.urls) > 1:
            log.info("connected to server %s", self.url)
        else:
            log.info("connected to server")
        self.state = CONNECTED
        self._last_error = ""
        await self._on_connected()

    async def _handle_disconnect(self, reason: object = None) -> None:
        self._last_error = str(reason or "closed")
        self._mark_down()
        self._lost.set()

    async def _handle_draining(self, data: object = None) -> None:
        # The node stops: leave now (the loop disconnects before its next attempt) and
        # connect to the next URL; the sessions, peer to peer, go on meanwhile.
        log.info("server %s is draining; moving to the next server", self.url)
        self._draining = True
        self._last_error = "server draining"
        self._lost.set()

    async def _handle_connect_error(self, data: object = None) -> None:
        # The server refuses with {"message": ..., "data": {"code": ..., "message": ...}}.
        if not isinstance(data, dict):
            return  # no answer from a server (refused TCP, failed upgrade): unreachable
        nested = data.get("data")
        inner: dict = nested if isinstance(nested, dict) else data
        code, message = inner.get("code"), inner.get("message") or data.get("message")
        self._refusal = (
            code if isinstance(code, str) and code else "refused",
            str(message)[:MAX_LOGGED_MESSAGE] if message else "no message",
        )
