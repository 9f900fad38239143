"""`porthole demo`: what `make run` starts — the server, an agent (which launches
porthole-core) and a demo target, all on this machine, with a fresh local
config in .porthole-dev/. Ctrl-C stops everything, the demo container too."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from porthole import devconfig
from porthole.errors import PortholeError

DEMO_CONTAINER = "porthole-demo"
DEMO_IMAGE = "porthole/target:dev"
DEMO_SCREEN = "demo-screen"
# Server and agent start in about a second; this only trips on a broken install.
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", type=Path, default=Path(".porthole-dev"), help="where the local config lives")
    p.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT")
    p.add_argument("--no-docker", action="store_true", help="offer the host-shell target even if Docker runs")


def _docker_api():
    import docker

    try:
        client = docker.from_env(timeout=5)
        client.ping()
        return client
    except Exception as e:  # noqa: BLE001 - any failure means "no usable Docker"
        print(f"  (no Docker Engine reachable: {e.__class__.__name__})")
        return None


def _start_demo_container(client) -> bool:
    import docker.errors

    try:
        client.images.get(DEMO_IMAGE)
    except docker.errors.ImageNotFound:
        print(f"  image {DEMO_IMAGE} is missing: `make setup` builds it")
        return False
    try:
        c = client.containers.get(DEMO_CONTAINER)
        if c.status != "running":
            c.remove(force=True)
            raise docker.errors.NotFound("stale")
    except docker.errors.NotFound:
        client.containers.run(
            DEMO_IMAGE,
            name=DEMO_CONTAINER,
            detach=True,
            network_mode="none",
            hostname="plc-demo",
            labels={"porthole.demo": "1"},
            init=False,
        )
    return True


def _start_screen():
    """An Xvfb with a live clock on it, offered as screen target DEMO_SCREEN; None when Xvfb is missing."""
    from porthole import xdisplay

    try:
        x = xdisplay.start(1280, 720)
    except PortholeError as e:
        print(f"  (no demo screen: {e.message})")
        return None, []
    clients = []
    try:
        x.fill("#1d3557")
        # Something live: a clock that redraws every second, and eyes that follow the pointer.
        clients.append(x.spawn("xclock", "-update", "1", "-geometry", "360x360+460+180", "-bg", "#f1faee"))
        clients.append(x.spawn("xeyes", "-geometry", "240x160+40+40"))
    except OSError as e:
        print(f"  (demo screen without content: {e})")
    return x, clients


def _stop_screen(x, clients) -> None:
    for c in clients:
        if c.poll() is None:
            c.terminate()
            c.wait(STOP_TIMEOUT_S)
    if x is not None:
        x.stop()


def _agent_config(dc: devconfig.DevConfig, *, docker: bool, display: str | None = None) -> Path:
    path = dc.directory / "agent-demo.toml"
    targets = (
        f'docker = true\ncontainers = ["{DEMO_CONTAINER}"]\nhost_shell = false\n'
        if docker
        else 'docker = false\nhost_shell = true\nhost_shell_command = ["/bin/bash", "-i"]\n'
    )
    path.write_text(
        "# Written by `porthole demo` from agent.toml; edit agent.toml for your own setups.\n"
        f"[agent]\ndevice_id = {json.dumps(dc.device_id)}\nserver_url = {json.dumps(dc.url)}\n"
        f'secret_file = "{dc.device_secret_file.name}"\ngrant_public_key = "{dc.public_key.name}"\n\n'
        f"[targets]\n{targets}\n"
        "[sidecar]\n# Loopback too, so a browser on this machine always has a path.\nice_loopback = true\n"
        + (
            f'\n[[screens]]\nid = "{DEMO_SCREEN}"\nname = "Demo screen (Xvfb {display})"\ndisplay = "{display}"\n'
            if display
            else ""
        )
    )
    return path


def _wait_http(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PortholeError("demo_failed", f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise PortholeError("demo_failed", f"server not answering at {url} after {timeout}s")


def _stop(proc: subprocess.Popen | None, name: str) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"  {name} did not stop in {STOP_TIMEOUT_S}s; killing")
        proc.kill()
        proc.wait()


def run(args: argparse.Namespace) -> int:
    host, _, port = args.listen.rpartition(":")
    dc = devconfig.generate(args.dir, host=host.strip("[]") or "127.0.0.1", port=int(port))
    print("Porthole demo")
    client = None if args.no_docker else _docker_api()
    use_docker = bool(client) and _start_demo_container(client)
    screen, screen_clients = _start_screen()
    agent_cfg = _agent_config(dc, docker=use_docker, display=screen.display if screen else None)
    py = sys.executable
    server = agent = None
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server = subprocess.Popen([py, "-m", "porthole", "server", "--config", str(dc.server_config)])
        _wait_http(dc.url, server, START_TIMEOUT_S)
        agent = subprocess.Popen([py, "-m", "porthole", "agent", "--config", str(agent_cfg)])
        password = dc.password if sys.stdout.isatty() else f"(in {dc.password_file})"
        target = (
            f"container {DEMO_CONTAINER!r}"
            if use_docker
            else "target 'host shell' — NO DOCKER: a shell on THIS machine as " + os.environ.get("USER", "you")
        )
        print(
            "\n" + "=" * 72 + f"\n  Open      {dc.url}\n  Log in    {dc.username} / {password}\n"
            f"  Then pick device {dc.device_id!r} and {target}, and press Open terminal.\n"
            + (f"  Or pick {DEMO_SCREEN!r} (a live X display) and press Open screen.\n" if screen else "")
            + f"  Debug     {Path(sys.executable).parent / 'porthole'} ctl sessions | watch | health  (docs/ctl.md)\n"
            "  Ctrl-C stops the demo.\n" + "=" * 72 + "\n",
            flush=True,
        )
        while not stopping:
            for name, proc in (("server", server), ("agent", agent)):
                if proc.poll() is not None:
                    print(f"  {name} exited with {proc.returncode}; stopping the demo")
                    stopping = True
            time.sleep(0.2)
    except PortholeError as e:
        print(f"porthole demo: {e.message}", file=sys.stderr)
        return 1
    finally:
        _stop(agent, "agent")
        _stop(server, "server")
        _stop_screen(screen, screen_clients)
        if use_docker and client is not None:
            with contextlib.suppress(Exception):  # already gone is fine; nothing else to do on the way out
                client.containers.get(DEMO_CONTAINER).remove(force=True)
    return 0
