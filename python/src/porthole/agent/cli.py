"""`porthole agent`: run the device agent."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from porthole import logs
from porthole.agent import arenas, hostpids
from porthole.agent import config as agent_config
from porthole.agent.service import Agent
from porthole.errors import PortholeError

log = logging.getLogger("porthole.agent")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help="agent TOML file (docs/configuration.md)")
    p.add_argument("--server-url", help="override agent.server_url")
    p.add_argument("--log-level", default=None, choices=["debug", "info", "warning", "error"])


async def serve(cfg: agent_config.AgentConfig) -> None:
    await hostpids.check_config(cfg.targets)  # before anything starts: refuses outside the host PID namespace
    agent = Agent(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await agent.start()
        log.info("agent running", extra={"device": cfg.device_id, "server": cfg.server_url})
        await stop.wait()
    finally:
        log.info("agent shutting down")
        await agent.shutdown()


def run(args: argparse.Namespace) -> int:
    try:
        cfg = agent_config.load(args.config, server_url=args.server_url)
    except PortholeError as e:
        print(f"porthole agent: {e}", flush=True)
        return 2
    logs.setup(args.log_level or cfg.log_level)
    arenas.limit()  # before the first thread
    try:
        asyncio.run(serve(cfg))
    except PortholeError as e:
        log.error("agent failed: %s", e)
        return 1
    return 0
