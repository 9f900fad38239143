"""NodeKeeper (server/nodes.py) on a stand-in shared store: when it takes another
node for dead, and when it finds its own state gone."""

from __future__ import annotations

import asyncio

from porthole.server import nodes as nodes_mod
from porthole.server.memstore import MemoryStore
from porthole.server.nodes import NodeKeeper


class FakeShared(MemoryStore):
    """A shared store whose node methods the test drives: `down` makes them fail."""

    shared = True

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.recorded = True
        self.dead = ["n-other"]
        self.claims: list[float] = []

    async def node_alive(self, node: str, ttl_s: float) -> bool:
        if self.down:
            raise ConnectionError("store down")
        had, self.recorded = self.recorded, True
        return had

    async def dead_nodes(self) -> list[str]:
        return list(self.dead)

    async def claim_node(self, node: str) -> bool:
        self.claims.append(asyncio.get_running_loop().time())
        self.dead.remove(node)
        return True


async def test_after_a_store_outage_no_node_is_taken_for_dead_before_a_full_ttl(monkeypatch) -> None:
    monkeypatch.setattr(nodes_mod, "HEARTBEAT_S", 0.05)
    monkeypatch.setattr(nodes_mod, "NODE_TTL_S", 0.5)
    store = FakeShared()
    store.down = True
    gone: list[str] = []

    async def client_gone(sid: str) -> None:
        gone.append(sid)

    async def nothing(*_: object) -> None:
        pass

    keeper = NodeKeeper(store, "n-me", client_gone=client_gone, agent_gone=nothing, state_lost=nothing)
    task = asyncio.create_task(keeper.run())
    try:
        await asyncio.sleep(0.3)  # the store is down: nothing is claimed
        assert store.claims == []
        store.down = False
        back = asyncio.get_running_loop().time()
        await asyncio.sleep(0.3)  # answering again, but for less than NODE_TTL_S
        assert store.claims == []
        await asyncio.sleep(0.6)
        assert len(store.claims) == 1 and store.claims[0] - back >= 0.5
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_node_whose_state_is_gone_makes_its_sockets_reconnect(monkeypatch) -> None:
    monkeypatch.setattr(nodes_mod, "HEARTBEAT_S", 0.05)
    store = FakeShared()
    store.dead = []
    lost: list[int] = []

    async def state_lost() -> None:
        lost.append(1)

    async def nothing(*_: object) -> None:
        pass

    keeper = NodeKeeper(store, "n-me", client_gone=nothing, agent_gone=nothing, state_lost=state_lost)
    task = asyncio.create_task(keeper.run())
    try:
        await asyncio.sleep(0.2)
        assert lost == []  # the first beat finds nothing recorded yet: that is not a loss
        store.recorded = False
        await asyncio.sleep(0.2)
        assert lost == [1]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
