"""One peer connection of a session, as the agent sees it: whether porthole-core
has created it, the ICE candidates held back on either side, its ICE and peer
states, its setup deadline, and the task bridging its `terminal` channel.

The peer connection itself lives in porthole-core (pion); this is the agent's
bookkeeping for it. A session holds one today; resume and several viewers
make that a list, without touching the shell.
"""

from __future__ import annotations

import asyncio

from porthole.rpc.v1 import sidecar_pb2 as pb

# Candidates a client may send before its offer has been accepted; a real
# browser sends a handful, so more than this is abuse, not trickle.
MAX_PENDING_CANDIDATES = 64


class Connection:
    def __init__(self) -> None:
        self.created = False  # porthole-core has the peer connection (the answer went out)
        # An ICE restart is being answered (icerestart.py): candidates of either side wait,
        # as before the first answer, so that none crosses the new answer.
        self.restarting = False
        self.pending_candidates: list[pb.IceCandidate] = []  # remote, before the peer connection exists
        self.local_candidates: list[pb.IceCandidate] = []  # ours, before the answer went out
        self.ice_state = "new"
        self.peer_state = "new"
        self.setup_timer: asyncio.TimerHandle | None = None
        self.terminal_task: asyncio.Task | None = None  # the bridge of the `terminal` channel, once open

    def hold_remote(self, cand: pb.IceCandidate) -> None:
        """Keeps a remote candidate until the peer connection exists (bounded)."""
        if len(self.pending_candidates) < MAX_PENDING_CANDIDATES:
            self.pending_candidates.append(cand)

    def take_pending(self) -> list[pb.IceCandidate]:
        out, self.pending_candidates = self.pending_candidates, []
        return out

    def take_local(self) -> list[pb.IceCandidate]:
        out, self.local_candidates = self.local_candidates, []
        return out

    def cancel_setup(self) -> None:
        if self.setup_timer:
            self.setup_timer.cancel()

    async def stop(self) -> None:
        """Stops the channel's bridge (unless called from inside it)."""
        self.cancel_setup()
        task = self.terminal_task
        if task and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
