"""detached.redraw: a resumed terminal's program is made to redraw (docs/protocol.md §2e)."""

from __future__ import annotations

import asyncio

from porthole.agent import detached
from porthole.agent.shell import Shell


class FakePty:
    """Records the sizes it is given; a peer's resize may land while one is under way."""

    def __init__(self, during_first=None) -> None:
        self.sizes: list[tuple[int, int]] = []
        self.during_first = during_first

    async def resize(self, cols: int, rows: int) -> None:
        self.sizes.append((cols, rows))
        if self.during_first is not None and len(self.sizes) == 1:
            await self.during_first()
        await asyncio.sleep(0)


async def test_redraw_is_two_real_size_changes_back_to_the_size():
    shell = Shell("s1", 100, 30, interactive=True)
    shell.pty = pty = FakePty()  # type: ignore[assignment]
    await detached.redraw(shell)
    assert pty.sizes == [(100, 29), (100, 30)]
    assert (shell.cols, shell.rows) == (100, 30)


async def test_redraw_of_a_one_row_terminal_goes_up_and_back():
    shell = Shell("s1", 80, 1, interactive=True)
    shell.pty = pty = FakePty()  # type: ignore[assignment]
    await detached.redraw(shell)
    assert pty.sizes == [(80, 2), (80, 1)]


async def test_redraw_keeps_a_resize_from_the_new_peer_meanwhile():
    shell = Shell("s1", 100, 30, interactive=True)

    async def peer_resizes() -> None:
        await shell.resize(120, 40)

    shell.pty = pty = FakePty(during_first=peer_resizes)  # type: ignore[assignment]
    await detached.redraw(shell)
    assert pty.sizes[-1] == (120, 40)
    assert (shell.cols, shell.rows) == (120, 40)
