"""A link that delays and drops packets, for a kernel without ``netem`` (TESTING.md).

``slow_link(netns_factory, ns, delay_s=0.1, loss=0.1)`` joins ``ns`` to the test
namespace through a third namespace (``mid``) that does not route: two veth
pairs end in it, and a userspace bridge (``python -m tests.support.slowlink``,
run inside ``mid``) reads every frame from one end with a packet socket and
writes it out of the other end ``delay_s`` later, dropping each IPv4 frame with
probability ``loss``. The delay is the same for every frame, so frames keep
their order, as netem's fixed delay does; it applies in each direction (a
round trip gains 2 × ``delay_s``). ARP frames are never dropped (only IPv4 is:
the peers' UDP).

Frames are forwarded as read, but for one thing: veth sends UDP with the
checksum left for the hardware to fill in (checksum offload), and a frame
written anew from userspace would arrive with that unfinished checksum and be
dropped; IPv4 UDP may carry no checksum (zero), so the bridge clears it.

The bridge counts what it forwarded and dropped; ``SlowLink.stats()`` stops it
and returns the counts, so a test can check that its traffic went this way.
"""

from __future__ import annotations

import argparse
import json
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800


@dataclass
class SlowLink:
    ns_dev: str  # the device's end, inside ns (ICE gathers on it)
    host_ip: str
    ns_ip: str
    proc: subprocess.Popen
    stats_file: Path

    def stats(self) -> dict:
        """Stops the bridge (the link is cut from then on) and returns its counts."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        return json.loads(self.stats_file.read_text())


def _ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")


def slow_link(made, ns, *, delay_s: float, loss: float, tmp: Path) -> SlowLink:
    """``made`` is the netns_factory, ``ns`` one of its namespaces (with no link yet)."""
    mid, mid_a, mid_b, ns_dev, host_ip, ns_ip, n = _wire(made, ns)
    stats_file = tmp / f"slowlink-{n}.json"
    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "tests.support.slowlink", mid_a, mid_b, str(delay_s), str(loss), str(stats_file)]
    proc = subprocess.Popen(mid.cmd(*argv), cwd=root)
    made.on_cleanup(lambda: _stop(proc))
    # Ready once its packet sockets are bound (it writes its first counts then).
    deadline = time.monotonic() + 15
    while not stats_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the slow link's bridge did not start (exit {proc.poll()})")
        time.sleep(0.05)
    return SlowLink(ns_dev, host_ip, ns_ip, proc, stats_file)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _wire(made, ns):
    mid = made(f"{ns.role}mid")
    n = made._next_net
    made._next_net += 1
    tag = made.tag[:4]
    host_dev, mid_a, mid_b, ns_dev = f"pt{tag}h{n}", f"pt{tag}a{n}", f"pt{tag}b{n}", f"pt{tag}n{n}"
    host_ip, ns_ip = f"10.213.{n}.1", f"10.213.{n}.2"
    _ip("link", "add", host_dev, "type", "veth", "peer", "name", mid_a, "netns", mid.name)
    _ip("-n", mid.name, "link", "add", mid_b, "type", "veth", "peer", "name", ns_dev, "netns", ns.name)
    made.on_cleanup(lambda: subprocess.run(["ip", "link", "del", host_dev], capture_output=True))
    for prefix, dev in (([], host_dev), (mid.cmd(), mid_a), (mid.cmd(), mid_b), (ns.cmd(), ns_dev)):
        subprocess.run([*prefix, "sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1"], capture_output=True)
    _ip("addr", "add", f"{host_ip}/30", "dev", host_dev)
    _ip("-n", ns.name, "addr", "add", f"{ns_ip}/30", "dev", ns_dev)
    for dev in (mid_a, mid_b):
        _ip("-n", mid.name, "link", "set", dev, "promisc", "on", "up")
    _ip("link", "set", host_dev, "up")
    _ip("-n", ns.name, "link", "set", ns_dev, "up")
    _ip("-n", ns.name, "route", "replace", "default", "via", host_ip, "dev", ns_dev)
    return mid, mid_a, mid_b, ns_dev, host_ip, ns_ip, n


def _clear_udp_checksum(frame: bytes) -> bytes:
    if len(frame) < 34 or struct.unpack_from("!H", frame, 12)[0] != ETH_P_IP or frame[23] != 17:
        return frame
    ihl = (frame[14] & 0x0F) * 4
    at = 14 + ihl + 6
    if len(frame) < at + 2:
        return frame
    return frame[:at] + b"\0\0" + frame[at + 2 :]


def bridge(a: str, b: str, delay_s: float, loss: float, stats_file: Path) -> None:
    socks = {}
    for name in (a, b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, ETH_P_ALL))
        socks[name] = s
    other = {socks[a]: socks[b], socks[b]: socks[a]}
    rng = random.Random()
    held: deque[tuple[float, socket.socket, bytes]] = deque()
    counts = {"forwarded": 0, "dropped": 0}
    stop = False

    def on_term(*_) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    stats_file.write_text(json.dumps(counts))
    while not stop:
        timeout = max(0.0, held[0][0] - time.monotonic()) if held else 0.5
        try:
            ready, _, _ = select.select(list(other), [], [], timeout)
        except InterruptedError:
            continue
        for s in ready:
            frame, addr = s.recvfrom(65536)
            if addr[2] == socket.PACKET_OUTGOING:
                continue  # our own writes, seen again on the way out
            if struct.unpack_from("!H", frame, 12)[0] == ETH_P_IP and rng.random() < loss:
                counts["dropped"] += 1
                continue
            held.append((time.monotonic() + delay_s, other[s], _clear_udp_checksum(frame)))
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, out, frame = held.popleft()
            out.send(frame)
            counts["forwarded"] += 1
    stats_file.write_text(json.dumps(counts))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("delay_s", type=float)
    p.add_argument("loss", type=float)
    p.add_argument("stats_file", type=Path)
    args = p.parse_args()
    bridge(args.a, args.b, args.delay_s, args.loss, args.stats_file)
