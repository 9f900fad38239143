"""The agent, wired in one place: config → sidecar, inventory, sessions,
signaling, admin. Each part is built here and handed only what it needs.

Order of start: admin API (so `porthole ctl health` answers during start-up)
→ sidecar (healthy) → sidecar event stream → inventory → watchdog, uploader
→ signaling link. Order of shutdown: refuse new offers → close every session
(kill its processes, tell the server) → admin → signaling link → background
tasks → sidecar.
"""

from __future__ import annotations

import asyncio
import logging

from porthole import audit, grant, wire
from porthole.agent import auditing, reconcile, recstore, uplink, watchdog
from porthole.agent.admin import AdminServer
from porthole.agent.admission import Admission
from porthole.agent.config import AgentConfig
from porthole.agent.diagnosis import DiagnosisBook
from porthole.agent.doctor import Doctor
from porthole.agent.events import EventBus
from porthole.agent.filechan import FileChannels
from porthole.agent.icerestart import IceRestarts
from porthole.agent.ptys import PtyFactory
from porthole.agent.reannounce import reannounce
from porthole.agent.sessions import SessionManager
from porthole.agent.share import ShareHandlers
from porthole.agent.sidecar import Sidecar
from porthole.agent.sidecar_events import SidecarEvents
from porthole.agent.signaling import NAMESPACE, Outbox, Signaling
from porthole.agent.targets import Inventory
from porthole.agent.uplink import Uplink
from porthole.agent.upload import Uploader
from porthole.agent.views import AgentViews
from porthole.tasks import end_tasks

log = logging.getLogger("porthole.agent")

# The first sidecar event stream must be open within this long of the sidecar being ready.
EVENTS_READY_TIMEOUT_S = 10.0
# How long the background loops get to end at shutdown (porthole.tasks).
SHUTDOWN_TASKS_S = 5.0


class Agent:
    def __init__(self, cfg: AgentConfig) -> None:
        self.cfg = cfg
        public_key = grant.load_public_key(cfg.grant_public_key)
        self.events = EventBus()
        self.audit = audit.AuditSink(cfg.audit, source="agent")
        self.events.subscribe(auditing.subscriber(self.audit))
        self.sidecar = Sidecar(cfg.sidecar, on_restart=self._on_sidecar_lost)
        self.inventory = Inventory(cfg.targets, cfg.policy, cfg.screens)
        rec = cfg.recording
        # Recordings → the server node the uplink uses at the time (self.uplink is made below).
        self.uploader = Uploader(cfg, lambda: self.uplink.url) if rec.enabled and rec.upload else None
        self._accepting = False
        self._tasks: list[asyncio.Task] = []
        self._reannouncing: set[asyncio.Task] = set()

        self.sio = uplink.client(cfg.ca_file)  # uplink.py: reconnects, verifies the server
        self.outbox = Outbox(self.sio)
        self.sessions = SessionManager(
            self.sidecar,
            self.events,
            self.audit,
            PtyFactory(cfg, lambda: self.inventory.api, self.events),
            self.outbox,
            on_recording=self.uploader.enqueue if self.uploader else None,
        )
        self.diagnoses = DiagnosisBook()  # `porthole ctl diagnose`, for live and recently failed sessions
        self.events.subscribe(self.diagnoses.on_event)
        self.sidecar_events = SidecarEvents(
            self.sidecar, self.sessions, self.outbox, self.events, on_closed=self.diagnoses.sidecar_closed
        )
        # File transfer on a terminal's `files` channel (filechan.py).
        self.sidecar_events.on_files = FileChannels(self.sidecar, lambda: self.inventory.api, self.events).open
        # Ends sessions by policy and warns their clients first; `session:extend` puts off an idle end.
        self.watchdog = watchdog.Watchdog(self.sessions, cfg.policy, send=self.outbox.emit)
        self.sio.on("session:extend", self.watchdog.on_extend, namespace=NAMESPACE)
        shares = ShareHandlers(self.sessions)  # shared terminals: control handoff and revoke (share.py)
        self.sio.on("share:control", shares.on_control, namespace=NAMESPACE)
        self.sio.on("share:revoke", shares.on_revoke, namespace=NAMESPACE)
        self.sio.on("share:request", shares.on_request, namespace=NAMESPACE)
        admission = Admission(cfg, public_key, self.inventory, self.sessions, lambda: self._accepting)
        self.signaling = Signaling(
            self.sio, self.outbox, admission, self.sessions, self.events, device_id=cfg.device_id, public_key=public_key
        )
        self.ice_restarts = IceRestarts(self.sio, self.sidecar, self.sessions, self.outbox, self.events)
        self.uplink = Uplink(
            self.sio,
            cfg.server_urls or cfg.server_url,
            NAMESPACE,
            auth=self._auth,
            on_connected=self._on_connect,
            delay_s=cfg.reconnect_delay_s,
            delay_max_s=cfg.reconnect_delay_max_s,
            ca_file=cfg.ca_file,
        )
        # Admin API + metrics; built now so its metrics see every event from the start.
        self.admin = AdminServer(
            cfg.admin,
            AgentViews(
                device_id=cfg.device_id,
                server_url=cfg.server_url,
                max_sessions=cfg.max_sessions,
                sidecar_socket=cfg.sidecar.socket_path,
                sessions=self.sessions,
                events=self.events,
                sidecar=self.sidecar,
                link=self.uplink,
                accepting=lambda: self._accepting,
                target_count=lambda: len(self.inventory.to_wire()),
                diagnoses=self.diagnoses,
                doctor=Doctor(cfg.targets, self.sidecar, self.uplink, self.sio),
            ),
        )

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await self.admin.start()  # first, so `porthole ctl health` answers during start-up
        await self.sidecar.start()
        self._spawn(self.sidecar_events.run(), "sidecar-events")
        await asyncio.wait_for(self.sidecar_events.ready.wait(), EVENTS_READY_TIMEOUT_S)
        await self.inventory.refresh()
        await self._reconcile()
        self._spawn(self._inventory_loop(), "inventory")
        self._spawn(self.watchdog.run(), "watchdog")
        if self.uploader is not None:
            self._spawn(self.uploader.run(), "recording-upload")
        if self.cfg.recording.enabled:
            rec = self.cfg.recording
            self._spawn(recstore.prune_forever(rec.dir, self.cfg.recstore, upload=rec.upload), "recording-prune")
        self._accepting = True
        self.uplink.start()

    async def shutdown(self) -> None:
        self._accepting = False
        await self.sessions.close_all(wire.AGENT_SHUTDOWN)
        await self.admin.stop()
        await self.uplink.stop()
        await end_tasks(self._tasks, SHUTDOWN_TASKS_S, "background tasks")
        await self.sidecar.stop()

    async def _reconcile(self) -> None:
        """Kills the shells a previous run of this agent left (SIGKILL, crash), before any offer."""
        for left in await asyncio.to_thread(reconcile.reconcile, self.cfg.device_id, frozenset()):
            self.events.publish(
                "session.ended",
                left.session_id,
                device=self.cfg.device_id,
                reason=wire.AGENT_RESTARTED,
                killed=left.killed,
            )

    def _spawn(self, coro, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    def _auth(self) -> dict[str, str]:
        # Called on every connection attempt: a rotated secret takes effect.
        return {"device_id": self.cfg.device_id, "secret": self.cfg.read_secret()}

    async def _on_connect(self) -> None:
        await self.outbox.inventory(self.inventory.to_wire())
        # A task: its ack is read by the client's loop, which runs this handler.
        task = asyncio.create_task(reannounce(self.sio, NAMESPACE, self.sessions), name="reannounce")
        self._reannouncing.add(task)
        task.add_done_callback(self._reannouncing.discard)

    async def _on_sidecar_lost(self) -> None:
        await self.sessions.sidecar_lost()

    async def _inventory_loop(self) -> None:
        last = self.inventory.to_wire()
        while True:
            await asyncio.sleep(self.cfg.inventory_interval_s)
            await self.inventory.refresh()
            now = self.inventory.to_wire()
            if now != last and self.sio.connected:
                await self.outbox.inventory(now)
            last = now
