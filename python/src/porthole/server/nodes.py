"""Server nodes on a shared store: this node's heartbeat, and cleaning up after
a node that died.

Every node renews its heartbeat in the store every `HEARTBEAT_S`; one silent
for `NODE_TTL_S` is dead (SIGKILL, a crash, a lost network, a drained node
that stopped). A live node then claims it (exactly one does) and does for
each of its sockets what a disconnect would have done: a browser's sessions
end (`client_gone`), a device's route is dropped and the sessions still on
that socket end (`device_offline`). A device that reconnected to another node
before then re-announced its sessions there (`agent:sessions`, rebind.py), so
nothing of them is left to end; the ones it did not are detached for
`signaling_grace_s` like any lost socket's.

A node that finds its state gone from the store (a Redis restarted without
persistence, or this node stalled past the TTL and was cleaned up by
another) disconnects its sockets: they reconnect and register again. A
heartbeat that merely expired while Redis was down is not that; and after
such an outage a node waits a full TTL of answers before it takes any other
node for dead, so that the others can renew their heartbeats first.

With the in-process store there is one node, always alive: nothing runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable

from porthole.server.store import Store

log = logging.getLogger("porthole.server.nodes")

# How often a node renews its heartbeat and looks for dead nodes.
HEARTBEAT_S = 2.0
# A node silent this long is dead: five missed beats (a busy event loop or a
# Redis restart of a second or two is not death), and long enough for a device
# to back off and reconnect to another node with its sessions.
NODE_TTL_S = 10.0


def new_node_id() -> str:
    """Unique per process: host, pid and a random tail (a restarted node is a new node)."""
    host = socket.gethostname().split(".")[0][:32] or "node"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class NodeKeeper:
    def __init__(
        self,
        store: Store,
        node_id: str,
        *,
        client_gone: Callable[[str], Awaitable[None]],
        agent_gone: Callable[[str], Awaitable[None]],
        state_lost: Callable[[], Awaitable[None]],
    ) -> None:
        self.store = store
        self.node_id = node_id
        self._client_gone = client_gone
        self._agent_gone = agent_gone
        self._state_lost = state_lost

    async def run(self) -> None:
        if not self.store.shared:
            return
        first = True
        healthy_since: float | None = None  # the store answered every beat since then
        loop = asyncio.get_running_loop()
        while True:
            try:
                had = await self.store.node_alive(self.node_id, NODE_TTL_S)
                if not had and not first:
                    log.warning("node %s: its state was gone from the store; its sockets reconnect", self.node_id)
                    await self._state_lost()
                first = False
                if healthy_since is None:
                    healthy_since = loop.time()
                # Only after a full TTL of answers: after a store outage every node's heartbeat may
                # have expired, and the others get the time to renew theirs before any is taken for dead.
                if loop.time() - healthy_since >= NODE_TTL_S:
                    await self.sweep()
            except Exception as e:  # noqa: BLE001 - a store that is down, however its client says it
                healthy_since = None
                log.error("node %s: store unreachable (%s); trying again in %.0f s", self.node_id, e, HEARTBEAT_S)
            await asyncio.sleep(HEARTBEAT_S)

    async def sweep(self) -> list[str]:
        """Cleans up after every dead node this node could claim; returns their ids."""
        claimed = []
        for node in await self.store.dead_nodes():
            if node == self.node_id or not await self.store.claim_node(node):
                continue
            claimed.append(node)
            clients = [c.sid for c in await self.store.clients() if c.node == node]
            agents = [a.sid for a in await self.store.agents() if a.node == node]
            log.warning(
                "node %s stopped beating: cleaning up its %d clients and %d agents", node, len(clients), len(agents)
            )
            for sid in clients:
                await self._client_gone(sid)
            for sid in agents:
                await self._agent_gone(sid)
        return claimed
