"""Ctrl-C gets through a flood to a slow client (issue 14, 9): porthole-core in
a namespace of its own behind a veth pair limited to 256 kbit/s (tbf), the
aiortc client in the test namespace. `yes` floods the terminal; after Ctrl-C
the client must see at most what the link carries in one second (32 000
bytes at 256 kbit/s) before the output stops and the shell answers again:
what is buffered between the PTY and the peer is bounded by time at the
link's rate, not only by bytes. Two shells: the host shell (a PTY master
handed to porthole-core: the kernel holds a few KiB, the rest is
porthole-core's adaptive high mark) and a Docker exec (Docker holds about
1.2 MB more on the way, which porthole-core drops on Ctrl-C as the tty would)."""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from tests.agent.test_terminal import extra_processes, wait_target
from tests.support.stack import core_binary

RATE_KBIT = 256
# The bound: Ctrl-C stops the output within 1 s. As bytes at the link's rate (not a clock
# reading on a busy machine): what arrives after Ctrl-C is what was in flight when it was sent.
BOUND_BYTES = RATE_KBIT * 1000 // 8 * 1
FLOOD = b"porthole-flood-line"
WATCH_AT_MOST = int(os.environ.get("PORTHOLE_TEST_CTRL_C_WATCH", "4"))  # bounds of flood after Ctrl-C
FLOOD_BEFORE_BYTES = 96 * 1024  # the flood has filled every buffer on the way by then


async def wait_gone(running: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while running():
        assert time.monotonic() < deadline, f"the flood still runs {timeout:.0f} s after Ctrl-C: it did not get through"
        await asyncio.sleep(0.2)


def in_container(container, command: str) -> Callable[[], bool]:
    def running() -> bool:
        container.reload()
        return any(command in p for p in extra_processes(container))

    return running


def on_host(token: bytes) -> Callable[[], bool]:
    """A process of this machine whose command line holds token (unique to the test)."""

    def running() -> bool:
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    if token in (d / "cmdline").read_bytes():
                        return True
                except OSError:
                    pass  # gone meanwhile
        return False

    return running


async def flood_then_ctrl_c(link, client, flood: bytes, running: Callable[[], bool]) -> None:
    client.type("echo up-$((6*7))\r")
    await client.wait_output("up-42")
    link.rate(RATE_KBIT)

    client.type(f"yes {flood.decode()}\r")
    await client.wait_for(lambda: len(client.output) >= FLOOD_BEFORE_BYTES, timeout=60)
    at_ctrl_c = len(client.output)
    sent = time.monotonic()
    client.type("\x03")

    async def ask() -> None:
        # The tty discards pending input with the SIGINT: ask again until the shell answers.
        while True:
            await asyncio.sleep(1.0)
            client.type("echo done-$((6*7))\r")

    asking = asyncio.create_task(ask())
    # First: the Ctrl-C itself gets through the flood (input is not stuck behind the output).
    try:
        await wait_gone(running)
    except AssertionError:
        asking.cancel()
        raise

    def flood_after() -> int:
        return bytes(client.output[at_ctrl_c:]).count(flood) * len(flood + b"\r\n")

    # Until the shell answers, or clearly too much came after Ctrl-C (no need to watch it all).
    try:
        await client.wait_for(
            lambda: b"done-42" in client.output or flood_after() > WATCH_AT_MOST * BOUND_BYTES, timeout=120
        )
    finally:
        asking.cancel()
    elapsed = time.monotonic() - sent
    print(
        f"after Ctrl-C: {flood_after()} flood bytes in {elapsed:.2f} s; shell answered: {b'done-42' in client.output}"
    )
    assert flood_after() <= BOUND_BYTES, (
        f"{flood_after()} bytes of flood after Ctrl-C (> {BOUND_BYTES}, 1 s at {RATE_KBIT} kbit/s) in {elapsed:.1f} s"
    )
    await client.wait_output("done-42")
    client.type("echo still-$((6*7))\r")
    await client.wait_output("still-42")


async def test_ctrl_c_stops_a_host_shell_flood_within_a_second_at_256_kbit(agent_factory, netns_factory, tmp_path):
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    agent = await agent_factory(
        core_binary=dev.wrap(core_binary(), tmp_path),
        ice_interfaces=[link.ns_dev],
        host_shell=True,
        host_shell_command=["/bin/sh", "-i"],
    )
    await wait_target(agent, "host")
    sid, client = await agent.open_terminal("host", binary=True)
    flood = FLOOD + b"-" + secrets.token_hex(4).encode()  # other runs on this machine flood too
    await flood_then_ctrl_c(link, client, flood, on_host(b"yes\0" + flood))
    assert b"dropped after Ctrl-C]" not in client.output  # a PTY: the kernel flushes, porthole-core does not
    assert agent.hub.got(sid, "webrtc:disconnect") == []


# Docker holds about 1.2 MB of a TTY exec's output when its reader stops (dockerd's in-memory pipe,
# the FIFO and the sockets), out of reach of the container's tty flush. porthole-core does the
# flush for it: Ctrl-C while the channel is backlogged drops what it holds and reads the stream
# until it is quiet, then sends a marker and the prompt (core-go/internal/terminal/flush.go).
async def test_ctrl_c_stops_a_docker_exec_flood_within_a_second_at_256_kbit(
    agent_factory, make_container, netns_factory, tmp_path
):
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    agent = await agent_factory(core_binary=dev.wrap(core_binary(), tmp_path), ice_interfaces=[link.ns_dev])
    c = make_container()
    await wait_target(agent, c.name)
    sid, client = await agent.open_terminal(c.name, binary=True)
    await flood_then_ctrl_c(link, client, FLOOD, in_container(c, "yes"))
    assert b"of output dropped after Ctrl-C]" in client.output
    assert agent.hub.got(sid, "webrtc:disconnect") == []
