"""Control of a shared screen moving between its participants (agent/screenshare.py), with
a recording stand-in for porthole-core's SetScreenInput: who is held, in which order, and
a handoff to a viewer that went meanwhile leaves the input with whoever had it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import grpc
import pytest

from porthole.agent import screenshare
from porthole.errors import PortholeError


class Core:
    """SetScreenInput of porthole-core: records each call; `gone` sessions are NOT_FOUND."""

    def __init__(self, gone: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.gone = set(gone)

    async def SetScreenInput(self, req: Any, timeout: float) -> None:
        if req.session_id in self.gone:
            raise grpc.aio.AioRpcError(grpc.StatusCode.NOT_FOUND, grpc.aio.Metadata(), grpc.aio.Metadata(), "gone")
        self.calls.append((req.session_id, req.held))


def setup(core: Core, controller: str = "") -> tuple[Any, Any]:
    async def wait_ready(_timeout: float) -> Core:
        return core

    live = {"own", "va", "vb"}
    mgr = SimpleNamespace(
        sidecar=SimpleNamespace(wait_ready=wait_ready), session=lambda sid: sid if sid in live else None
    )
    owner = SimpleNamespace(id="own", allow_input=True, viewers={"va": "a", "vb": "b"}, controller=controller)
    return mgr, owner


async def test_handoff_holds_everyone_else_before_releasing_the_new_controller() -> None:
    core = Core()
    mgr, owner = setup(core, controller="va")
    await screenshare.hand_over(mgr, owner, "vb")
    assert core.calls == [("va", True), ("own", True), ("vb", False)]
    core.calls.clear()
    await screenshare.hand_over(mgr, owner, "")  # taken back (share.py names the new controller)
    assert core.calls == [("va", True), ("own", False)]


@pytest.mark.parametrize(("controller", "back_to"), [("", "own"), ("va", "va")])
async def test_a_handoff_to_a_viewer_gone_meanwhile_leaves_the_input_where_it_was(controller, back_to) -> None:
    core = Core(gone=("vb",))
    mgr, owner = setup(core, controller=controller)
    with pytest.raises(PortholeError):
        await screenshare.hand_over(mgr, owner, "vb")
    assert core.calls[-1] == (back_to, False), core.calls


async def test_only_an_owner_with_input_hands_it_over() -> None:
    core = Core()
    mgr, owner = setup(core)
    owner.allow_input = False
    with pytest.raises(PortholeError) as e:
        await screenshare.hand_over(mgr, owner, "va")
    assert e.value.code == "input_not_allowed" and core.calls == []
    owner.allow_input = True
    with pytest.raises(PortholeError) as e:
        await screenshare.hand_over(mgr, owner, "stranger")
    assert e.value.code == "not_a_viewer" and core.calls == []
