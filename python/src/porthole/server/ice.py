"""The ICE servers and transport policy each side of one session gets.

A browser and a device each receive the configured STUN servers plus, when
`[server.turn]` is set, a TURN credential minted for them alone
(``<session id>`` for the browser, ``<session id>.device`` for the device),
valid until the login that opened the session expires (at most
``max_ttl_s``, at least the grant's life). ``relay`` policy (per org, or per
device, which wins) makes both sides use relayed candidates only.
"""

from __future__ import annotations

import time
from typing import Any

from porthole import turn
from porthole.server.config import Config

POLICY_ALL, POLICY_RELAY = "all", "relay"
POLICIES = (POLICY_ALL, POLICY_RELAY)
DEVICE_SUFFIX = ".device"
DOCTOR_SUFFIX = ".doctor"
# Life of the credential `porthole ctl doctor` allocates with: the test takes
# seconds; a minute leaves room for a slow link and is worth little if leaked.
DOCTOR_TTL_S = 60


def transport_policy(cfg: Config, device_id: str) -> str:
    dev = cfg.devices.get(device_id)
    if dev is not None and dev.ice_transport_policy:
        return dev.ice_transport_policy
    org = dev.org if dev is not None else None
    return cfg.org_ice_transport_policy.get(org or "", POLICY_ALL)


def servers_for(
    cfg: Config, session_id: str, *, device: bool, login_expires_at: float, now: float | None = None
) -> list[dict[str, Any]]:
    """RTCIceServer dicts for one side of one session."""
    out = [s.to_wire() for s in cfg.server.ice_servers]
    t = cfg.server.turn
    if t is not None:
        now = time.time() if now is None else now
        expires = min(max(login_expires_at, now + cfg.server.grant_ttl_s), now + t.max_ttl_s)
        principal = session_id + (DEVICE_SUFFIX if device else "")
        out.append(turn.mint(t.secret, principal, t.urls, expires_at=int(expires)).to_wire())
    return out


def doctor_servers(cfg: Config, device_id: str, now: float | None = None) -> list[dict[str, Any]]:
    """The TURN servers for a device's own TURN check (`agent:turn_check`), with a credential for
    ``<device id>.doctor`` valid DOCTOR_TTL_S; [] when the server has no TURN."""
    t = cfg.server.turn
    if t is None:
        return []
    now = time.time() if now is None else now
    return [turn.mint(t.secret, device_id + DOCTOR_SUFFIX, t.urls, expires_at=int(now + DOCTOR_TTL_S)).to_wire()]
