"""Test hosts in network namespaces of our own, joined to the test namespace by veth links.

Tests already run in a private namespace (scripts/in-netns.sh). Inside it,
``netns_factory`` makes more: ``ns = netns_factory("dev")`` is a namespace with
only ``lo``; ``link = ns.link()`` joins it to the test namespace by a veth pair
on its own /30 (``link.ns_ip`` inside, ``link.host_ip`` on our side). Faults
are made for real on that link (TESTING.md):

- ``link.down()`` / ``link.up()``: ``ip link set`` on both ends;
- ``link.loss(0.1)``: iptables ``statistic`` drops in both directions;
- ``link.rate(256)``: a tbf qdisc on both ends (kbit/s);
- ``link.clear()``: no loss, no rate limit.

``relay_topology(netns_factory)`` builds the three namespaces of the TURN
tests: ``dev`` and ``brw`` reach ``cloud`` but not each other.

``ns.wrap(binary, tmp)`` writes a script that runs ``binary`` inside the
namespace (``ip netns exec``), for a process another one launches (the
agent's porthole-core). Everything is removed at teardown; the names carry a
random part so that concurrent test runs on one machine never meet.
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# 10.213.x.0/30 links: the test namespace's own address is 10.213.7.1 (in-netns.sh),
# so links start above it.
LINK_NET_FIRST = 20


def _ip(*args: str) -> str:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def _run(argv: list[str]) -> str:
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r.stdout


@dataclass
class Link:
    """A veth pair: ``host_dev`` in the test namespace, ``ns_dev`` in ``ns``."""

    ns: Namespace
    host_dev: str
    ns_dev: str
    host_ip: str
    ns_ip: str
    default_route: bool = True

    def down(self) -> None:
        _ip("link", "set", self.host_dev, "down")
        _ip("-n", self.ns.name, "link", "set", self.ns_dev, "down")

    def up(self) -> None:
        """Brings both ends up and puts back the namespace's default route (the kernel
        drops routes through a link that goes down, as DHCP would put them back)."""
        _ip("-n", self.ns.name, "link", "set", self.ns_dev, "up")
        _ip("link", "set", self.host_dev, "up")
        if self.default_route:
            _ip("-n", self.ns.name, "route", "replace", "default", "via", self.host_ip, "dev", self.ns_dev)

    def loss(self, probability: float) -> None:
        """Drops each packet entering either end with this probability."""
        self.clear_loss()
        for prefix, dev in ((self.ns.cmd(), self.ns_dev), ([], self.host_dev)):
            _run(
                [
                    *prefix,
                    "iptables",
                    "-w",
                    "-I",
                    "INPUT",
                    "-i",
                    dev,
                    "-m",
                    "statistic",
                    "--mode",
                    "random",
                    "--probability",
                    f"{probability:.4f}",
                    "-j",
                    "DROP",
                ]
            )

    def clear_loss(self) -> None:
        for prefix, dev in ((self.ns.cmd(), self.ns_dev), ([], self.host_dev)):
            rules = _run([*prefix, "iptables", "-w", "-S", "INPUT"]).splitlines()
            for rule in rules:
                if f"-i {dev} " in rule and "statistic" in rule:
                    _run([*prefix, "iptables", "-w", *rule.replace("-A ", "-D ", 1).split()])

    def rate(self, kbit: int) -> None:
        """Limits both directions to ``kbit`` kbit/s (tbf, a 32 KiB bucket, 200 ms of queue)."""
        for args in ((), ("-n", self.ns.name)):
            dev = self.host_dev if not args else self.ns_dev
            _ip(*args, "link", "show", dev)  # a clear error when the link is gone
            subprocess.run(["tc", *args, "qdisc", "del", "dev", dev, "root"], capture_output=True)
            _run(
                [
                    "tc",
                    *args,
                    "qdisc",
                    "add",
                    "dev",
                    dev,
                    "root",
                    "tbf",
                    "rate",
                    f"{kbit}kbit",
                    "burst",
                    "32kb",
                    "latency",
                    "200ms",
                ]
            )

    def clear(self) -> None:
        self.clear_loss()
        for args, dev in (((), self.host_dev), (("-n", self.ns.name), self.ns_dev)):
            subprocess.run(["tc", *args, "qdisc", "del", "dev", dev, "root"], capture_output=True)


@dataclass
class Namespace:
    role: str
    name: str
    links: list[Link] = field(default_factory=list)

    def cmd(self, *argv: str) -> list[str]:
        """``argv`` run inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, *argv: str) -> str:
        return _run(self.cmd(*argv))

    def wrap(self, binary: str, directory: Path) -> str:
        """A script that execs ``binary`` (with its arguments) inside this namespace."""
        path = directory / f"in-{self.role}-{Path(binary).name}"
        path.write_text(f'#!/bin/sh\nexec ip netns exec {self.name} {binary} "$@"\n')
        path.chmod(0o755)
        return str(path)


class Namespaces:
    """Creates namespaces and links; ``cleanup()`` deletes them all."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(3)
        self.made: list[Namespace] = []
        self._next_net = LINK_NET_FIRST
        self._cleanups: list = []

    def __call__(self, role: str) -> Namespace:
        ns = Namespace(role=role, name=f"pth-{self.tag}-{role}")
        _ip("netns", "add", ns.name)
        self.made.append(ns)
        _ip("-n", ns.name, "link", "set", "lo", "up")
        return ns

    def link(self, ns: Namespace, *, default_route: bool = True) -> Link:
        """A veth pair from the test namespace into ``ns`` on a /30 of its own; ``ns`` routes via it."""
        n = self._next_net
        self._next_net += 1
        host_dev, ns_dev = f"pt{self.tag[:4]}h{n}", f"pt{self.tag[:4]}n{n}"
        host_ip, ns_ip = f"10.213.{n}.1", f"10.213.{n}.2"
        _ip("link", "add", host_dev, "type", "veth", "peer", "name", ns_dev, "netns", ns.name)
        for args, dev in (((), host_dev), (("-n", ns.name), ns_dev)):
            with contextlib.suppress(RuntimeError):  # no IPv6 link-local candidates on test links
                _run(
                    [
                        *(["ip", "netns", "exec", ns.name] if args else []),
                        "sysctl",
                        "-qw",
                        f"net.ipv6.conf.{dev}.disable_ipv6=1",
                    ]
                )
        _ip("addr", "add", f"{host_ip}/30", "dev", host_dev)
        _ip("-n", ns.name, "addr", "add", f"{ns_ip}/30", "dev", ns_dev)
        _ip("link", "set", host_dev, "up")
        _ip("-n", ns.name, "link", "set", ns_dev, "up")
        if default_route:
            _ip("-n", ns.name, "route", "replace", "default", "via", host_ip, "dev", ns_dev)
        link = Link(ns, host_dev, ns_dev, host_ip, ns_ip, default_route)
        ns.links.append(link)
        return link

    def on_cleanup(self, fn) -> None:
        self._cleanups.append(fn)

    def cleanup(self) -> None:
        for fn in reversed(self._cleanups):
            fn()
        self._cleanups.clear()
        for ns in self.made:
            for link in ns.links:
                subprocess.run(["ip", "link", "del", link.host_dev], capture_output=True)
            # Anything still running inside holds the namespace open; kill it first.
            pids = subprocess.run(["ip", "netns", "pids", ns.name], capture_output=True, text=True).stdout.split()
            for pid in pids:
                subprocess.run(["kill", "-9", pid], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns.name], capture_output=True)
        self.made.clear()


@dataclass
class RelayTopology:
    """``dev`` and ``brw`` each reach ``cloud`` (through the test namespace, which
    routes) but not each other, nor the test namespace's own addresses: only a
    relay in ``cloud`` joins them (TESTING.md, the TURN topology)."""

    dev: Namespace
    brw: Namespace
    cloud: Namespace

    def link_of(self, ns: Namespace) -> Link:
        return ns.links[0]


def relay_topology(made: Namespaces) -> RelayTopology:
    dev, brw, cloud = made("dev"), made("brw"), made("cloud")
    links = {ns.role: made.link(ns) for ns in (dev, brw, cloud)}
    _run(["sysctl", "-qw", "net.ipv4.ip_forward=1"])
    for a, b in (("dev", "brw"), ("brw", "dev")):
        _run(["iptables", "-w", "-A", "FORWARD", "-s", links[a].ns_ip, "-d", links[b].ns_ip, "-j", "DROP"])
    for role in ("dev", "brw"):
        # Nor may they reach the test namespace itself (the harness, aiortc, its other links).
        _run(["iptables", "-w", "-A", "INPUT", "-s", links[role].ns_ip, "-j", "DROP"])
    made.on_cleanup(
        lambda: [
            subprocess.run(["iptables", "-w", "-D", *rule.split()[1:]], capture_output=True)
            for rule in _run(["iptables", "-w", "-S"]).splitlines()
            if any(links[r].ns_ip in rule for r in ("dev", "brw"))
        ]
    )
    return RelayTopology(dev, brw, cloud)


@pytest.fixture
def netns_factory():
    """``netns_factory(role) -> Namespace``; ``netns_factory.link(ns) -> Link``. Removed at teardown."""
    made = Namespaces()
    yield made
    made.cleanup()
