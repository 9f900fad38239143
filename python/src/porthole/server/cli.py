"""`porthole server`: run the server, or a helper command.

porthole server --config server.toml [--listen HOST:PORT]
porthole server hash-password < password.txt      # prints a scrypt hash
porthole server dev-config DIR [--device-id ID] [--listen HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from porthole import logs
from porthole.errors import ConfigError
from porthole.server import config as config_mod
from porthole.server import passwords

log = logging.getLogger("porthole.server")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="server config file (TOML; see docs/configuration.md)")
    parser.add_argument("--listen", metavar="HOST:PORT", help="override [server] listen")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    sub = parser.add_subparsers(dest="server_command", metavar="[COMMAND]")
    sub.add_parser(
        "hash-password",
        help="read a password from stdin, print its scrypt hash (users.password_hash)",
        description="Reads one line from stdin (without its newline) and prints the hash for users.password_hash.",
    )
    sub.add_parser(
        "hash-device-secret",
        help="read a device secret from stdin, print its keyed hash (devices.secret_hash)",
        description="Reads one line from stdin (without its newline) and prints the hash for devices.secret_hash. "
        "Make the secret itself with `openssl rand -hex 32`.",
    )
    dev = sub.add_parser("dev-config", help="write a ready-to-run local setup (server.toml, agent.toml, keys)")
    dev.add_argument("directory", type=Path)
    dev.add_argument("--device-id", default="edge-1")
    dev.add_argument("--listen", dest="dev_listen", default="127.0.0.1:8080", metavar="HOST:PORT")


def _hash_stdin(command: str, hasher) -> int:
    line = sys.stdin.readline()
    secret = line[:-1] if line.endswith("\n") else line
    secret = secret[:-1] if secret.endswith("\r") else secret
    if not secret:
        print(f"porthole server {command}: empty input", file=sys.stderr)
        return 2
    print(hasher(secret))
    return 0


def _dev_config(args: argparse.Namespace) -> int:
    from porthole import devconfig

    host, port = config_mod.parse_listen(args.dev_listen, "--listen")
    dc = devconfig.generate(args.directory, device_id=args.device_id, host=host, port=port)
    print(f"server config: {dc.server_config}")
    print(f"agent config:  {dc.agent_config}")
    print(f"open {dc.url} and log in as {dc.username!r}; the password is in {dc.password_file}")
    return 0


async def _serve(cfg: config_mod.Config) -> int:
    from porthole.server.app import Server

    server = Server(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, server.reload_tls)  # `systemctl reload`: a renewed certificate
    await server.start()
    print(f"porthole server listening on {server.url}", flush=True)
    try:
        await stop.wait()
        log.info("shutting down")
    finally:
        await server.stop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
    return 0


def run(args: argparse.Namespace) -> int:
    logs.setup(args.log_level)
    try:
        if args.server_command == "hash-password":
            return _hash_stdin("hash-password", passwords.hash_password)
        if args.server_command == "hash-device-secret":
            return _hash_stdin("hash-device-secret", passwords.hash_device_secret)
        if args.server_command == "dev-config":
            return _dev_config(args)
        if args.config is None:
            raise ConfigError("--config PATH is required (or run `porthole server dev-config DIR` first)")
        cfg = config_mod.load(args.config)
        if args.listen:
            import dataclasses

            host, port = config_mod.parse_listen(args.listen, "--listen")
            cfg = dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, host=host, port=port))
        return asyncio.run(_serve(cfg))
    except ConfigError as e:
        print(f"porthole server: {e.message}", file=sys.stderr)
        return 2
