"""A device's secret, checked for /agent connects and recording uploads.

Every check first takes one attempt from the device's budgets (per device and
address, per address: limiter.py); a spent budget answers `rate_limited`
without looking at the secret. A keyed-hash secret_hash is checked in constant
time at once; an older scrypt one goes through the bounded hash pool.
Refusals are published as `device.denied` (audited with the device id, the
address and the code; never the secret).
"""

from __future__ import annotations

from porthole import errors
from porthole.errors import PortholeError
from porthole.events import EventBus
from porthole.server import passwords
from porthole.server.auditing import clean
from porthole.server.config import Config
from porthole.server.hashpool import HashPool
from porthole.server.limiter import AttemptLimiter, key


class DeviceAuth:
    def __init__(self, config: Config, limiter: AttemptLimiter, hashes: HashPool, events: EventBus) -> None:
        self.config = config
        self.limiter = limiter
        self.hashes = hashes
        self.events = events

    async def check(self, device_id: str, secret: str, remote: str, *, via: str) -> None:
        """Returns when the secret is this device's; raises unauthenticated or rate_limited."""
        s = self.config.server
        attempt = await self.limiter.reserve(
            {
                key("device", device_id, remote): s.login_max_failures,
                key("addr", remote): s.login_max_failures_per_address,
            }
        )
        if attempt is None:
            self._denied(device_id, remote, via, errors.RATE_LIMITED)
            raise PortholeError(errors.RATE_LIMITED, "too many failed attempts; wait a minute")
        device = self.config.devices.get(device_id)
        encoded = device.secret_hash if device is not None else passwords.dummy_hash()
        ok = passwords.verify_device_secret(secret, encoded)
        if ok is None:
            try:
                ok = await self.hashes.verify(secret, encoded)
            except PortholeError:
                await self.limiter.succeeded(attempt)  # the pool was full: not this caller's failure
                raise
        if device is None or not ok:
            self._denied(device_id, remote, via, errors.UNAUTHENTICATED)
            raise PortholeError(errors.UNAUTHENTICATED, "unknown device or wrong secret")
        await self.limiter.succeeded(attempt, clear=(key("device", device_id, remote),))

    def _denied(self, device_id: str, remote: str, via: str, code: str) -> None:
        self.events.publish(
            "device.denied", None, ok=False, code=code, device=clean(device_id), remote=clean(remote), via=via
        )
