"""A client that the soak drops abruptly: its own process, its own Socket.IO
connection and its own pion peers (porthole-bench), so that killing it is
what a crashed browser or a closed laptop lid does to the device.

    python -m porthole.bench.soak.dropper --url U --username N --password-file F
        --device D --target T --sessions K

Opens K terminal sessions through the server, types a command in each, then
prints one JSON line {"attempted", "established", "typed", "errors",
"peer_pid"} and waits. The soak then either SIGKILLs this process group
(signaling and peers gone at once, no close message anywhere) or SIGKILLs only
``peer_pid`` (the peers fall silent, signaling stays) and waits for
{"ended_by_device": n, "of": k}, the sessions the device ended on its own
(webrtc:disconnect or webrtc:error from the server): printed once all have
ended, or when the soak, tired of waiting, writes a line to stdin. The password is read from a file, never an argument.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

from porthole.bench.peer import PeerProcess
from porthole.bench.soak import workload
from porthole.bench.stack import Stack


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m porthole.bench.soak.dropper", description=__doc__)
    for name in ("url", "username", "password-file", "device", "target"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--sessions", type=int, required=True)
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> None:
    peer = PeerProcess(os.environ["PORTHOLE_TEST_IFACE"])
    await peer.start()
    stack = Stack(Path(tempfile.gettempdir()), "", peer.iface, peer)
    stack.url, stack.device_id = args.url, args.device
    await stack._connect_client(args.username, Path(args.password_file).read_text().strip())
    tally = workload.Tally()
    opened = await asyncio.gather(
        *(workload.open_and_type(stack, args.target, tally, f"d{os.getpid()}x{i}") for i in range(args.sessions))
    )
    ids = {s.id for s in opened if s is not None}

    # From here on an error or a disconnect is the device ending a session
    # (replaces the Stack's own error handler, which only served the opening).
    ended: set[str] = set()

    async def on_end(data: dict) -> None:
        ended.add(str(data.get("session_id")))
        if ids and ids <= ended:
            _emit({"ended_by_device": len(ids), "of": len(ids)})

    assert stack.sio is not None
    stack.sio.on("webrtc:disconnect", on_end, namespace="/client")
    stack.sio.on("webrtc:error", on_end, namespace="/client")
    assert peer.proc is not None
    _emit({**tally.as_dict(), "peer_pid": peer.proc.pid})
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.readline():
        _emit({"ended_by_device": len(ids & ended), "of": len(ids)})
    await asyncio.Event().wait()  # killed by the soak


def _emit(obj: dict) -> None:
    print(json.dumps(obj), flush=True)


if __name__ == "__main__":
    asyncio.run(run(parse(None)))
