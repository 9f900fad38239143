"""Porthole control plane: signaling server, device agent and debugging CLI."""

__version__ = "0.1.0"
