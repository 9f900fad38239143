"""The namespace test bed itself (tests/support/topology.py): a link carries
traffic, and each fault it makes really cuts or shapes it."""

from __future__ import annotations

import socket
import subprocess
import threading

from tests.support.topology import Namespaces


def serve_once(host: str) -> tuple[socket.socket, int]:
    srv = socket.socket()
    srv.bind((host, 0))
    srv.listen(8)

    def accept_all():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            conn.sendall(b"hi")
            conn.close()

    threading.Thread(target=accept_all, daemon=True).start()
    return srv, srv.getsockname()[1]


def reaches(ns, host: str, port: int) -> bool:
    """A TCP connect from inside ``ns`` that reads the server's greeting within 2 s."""
    code = f"import socket; s=socket.create_connection(('{host}',{port}),timeout=2); assert s.recv(2)==b'hi'"
    return subprocess.run(ns.cmd("python3", "-c", code), capture_output=True, timeout=10).returncode == 0


def test_link_carries_and_faults_cut(netns_factory):
    dev = netns_factory("dev")
    link = netns_factory.link(dev)
    srv, port = serve_once("0.0.0.0")
    try:
        assert reaches(dev, link.host_ip, port)
        # Through the default route too (the test namespace's own address).
        assert reaches(dev, "10.213.7.1", port)

        link.down()
        assert not reaches(dev, link.host_ip, port)
        link.up()
        assert reaches(dev, "10.213.7.1", port), "the default route did not come back with the link"

        link.loss(1.0)
        assert not reaches(dev, link.host_ip, port)
        link.clear()
        assert reaches(dev, link.host_ip, port)

        link.rate(256)
        qdiscs = subprocess.run(["tc", "qdisc", "show", "dev", link.host_dev], capture_output=True, text=True).stdout
        assert "tbf" in qdiscs and "256Kbit" in qdiscs, qdiscs
        assert "tbf" in dev.run("tc", "qdisc", "show", "dev", link.ns_dev)
        link.clear()
        assert "tbf" not in dev.run("tc", "qdisc", "show", "dev", link.ns_dev)
    finally:
        srv.close()


def test_cleanup_removes_namespaces_and_links():
    made = Namespaces()
    ns = made("x")
    link = made.link(ns)
    assert ns.name in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    made.cleanup()
    assert ns.name not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert subprocess.run(["ip", "link", "show", link.host_dev], capture_output=True).returncode != 0


def test_relay_topology_joins_dev_and_brw_only_through_cloud(netns_factory):
    from tests.support.topology import relay_topology

    t = relay_topology(netns_factory)
    cloud_ip = t.link_of(t.cloud).ns_ip
    servers = []
    try:
        for ns in (t.cloud, t.brw):
            code = (
                "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); "
                "s.bind(('0.0.0.0',7001)); s.listen(8)\n"
                "while True:\n c,_=s.accept(); c.sendall(b'hi'); c.close()"
            )
            servers.append(subprocess.Popen(ns.cmd("python3", "-c", code)))
        import time

        time.sleep(0.5)
        assert reaches(t.dev, cloud_ip, 7001)
        assert reaches(t.brw, cloud_ip, 7001)
        assert not reaches(t.dev, t.link_of(t.brw).ns_ip, 7001)
        srv, port = serve_once("0.0.0.0")
        try:
            assert not reaches(t.dev, "10.213.7.1", port), "dev reaches the test namespace"
            assert reaches(t.cloud, "10.213.7.1", port)
        finally:
            srv.close()
    finally:
        for p in servers:
            p.kill()
            p.wait()
