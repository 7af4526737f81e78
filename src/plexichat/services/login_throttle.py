"""Slowing down password (and admin token) guessing.

Failed logins are counted per user name and per client address in the host's shared
ephemeral state (:mod:`plexichat.services.ephemeral`): this process's memory in a single
host, Redis when replicas share ``PLEXICHAT_REDIS_URL``, so failures spread over the
replicas add up. After ``max_failures`` failures within ``window`` seconds (counted from
the first), that name or address is locked out: every login attempt, with the right
password too, is answered 429 with ``Retry-After`` until the lock-out ends. Each further
failure doubles the lock-out (``base_delay`` seconds at first, at most ``max_delay``). A
successful login resets the user name's count; an address's count only expires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .ephemeral import Ephemeral, EphemeralBackend

__all__ = ["NAMESPACE", "LoginKeys", "LoginThrottle"]

NAMESPACE = "login"
"""The ephemeral namespace of the failure counts and lock-outs."""


@dataclass(frozen=True)
class LoginKeys:
    """The counters one login attempt touches: its user name's and its address's."""

    user: str
    address: str

    @classmethod
    def of(cls, scope: str, name: str, address: str | None) -> LoginKeys:
        """The keys of a login to ``scope`` (``chat``, ``admin-ui``) as ``name`` from
        ``address`` (None: unknown)."""
        return cls(user=f"{scope}:user:{name.lower()}",
                   address=f"{scope}:addr:{address or 'unknown'}")

    @property
    def both(self) -> tuple[str, str]:
        """The user name's key and the address's."""
        return (self.user, self.address)


class LoginThrottle:
    """Counts failed logins (in the namespace :data:`NAMESPACE` of the ephemeral store
    ``ephemeral``) and says how long a locked-out attempt must wait."""

    def __init__(self, ephemeral: EphemeralBackend, *, max_failures: int = 5,
                 window: float = 15 * 60, base_delay: float = 2.0,
                 max_delay: float = 10 * 60) -> None:
        self.ephemeral = Ephemeral(ephemeral, NAMESPACE)
        self.max_failures = max_failures
        self.window = window
        self.base_delay = base_delay
        self.max_delay = max_delay

    async def retry_after(self, keys: LoginKeys) -> int | None:
        """Whole seconds until an attempt with ``keys`` may be checked; None: now."""
        waits = [wait for key in keys.both
                 if (wait := await self.ephemeral.ttl(f"{key}:lock")) is not None]
        return max(1, math.ceil(max(waits))) if waits else None

    async def failed(self, keys: LoginKeys) -> None:
        """Count a failed attempt; lock out a name or address that has failed too often."""
        for key in keys.both:
            failures = await self.ephemeral.incr(f"{key}:failures", ttl=self.window)
            if failures >= self.max_failures:
                delay = min(self.max_delay,
                            self.base_delay * 2 ** (failures - self.max_failures))
                await self.ephemeral.set(f"{key}:lock", str(failures), ttl=delay)

    async def succeeded(self, keys: LoginKeys) -> None:
        """A successful login: its user name starts afresh."""
        await self.ephemeral.delete(f"{keys.user}:failures")
        await self.ephemeral.delete(f"{keys.user}:lock")
