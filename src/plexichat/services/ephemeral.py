"""Shared ephemeral state: short-lived values and counters, with an optional time to live.

What may be lost without harm — sessions, rate-limit counts, caches — lives here rather
than in the database. :class:`EphemeralBackend` is the store: this process's memory
(:class:`MemoryEphemeral`) in a single host, Redis
(:class:`plexichat.cluster.ephemeral.RedisEphemeral`) when replicas share
``PLEXICHAT_REDIS_URL``, so every replica sees the same values. :class:`Ephemeral` is one
namespace of it: what ``context.ephemeral`` hands a plugin (keys of its own only), and
what the web UI keeps its sessions in.

Every operation is a coroutine; values are strings (JSON is the caller's choice); a
``ttl`` is in seconds (None: kept until deleted, or until the store restarts).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Ephemeral", "EphemeralBackend", "EphemeralUnavailable", "MemoryEphemeral"]


class EphemeralUnavailable(RuntimeError):
    """The shared ephemeral store cannot be reached (Redis is down): what depends on it
    (logins, UI sessions) is refused for now; the web layer answers 503."""


class EphemeralBackend(Protocol):
    """A store of ephemeral values; keys are full names (see :class:`Ephemeral`)."""

    async def get(self, key: str) -> str | None:
        """The value of ``key``, or None (never set, deleted, or expired)."""

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key``, for ``ttl`` seconds (None: no expiry)."""

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add ``amount`` to the integer under ``key`` (absent: 0) atomically; the new
        value. ``ttl`` applies when the key has no expiry yet (typically: just created)."""

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it was there."""

    async def ttl(self, key: str) -> float | None:
        """Seconds until ``key`` expires; None when it is absent or never expires."""


class MemoryEphemeral:
    """:class:`EphemeralBackend` in this process's memory (a host without a cluster).

    At most ``limit`` keys: expired keys go first, then the oldest.
    """

    def __init__(self, limit: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._items: dict[str, tuple[str, float | None]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> tuple[str, float | None] | None:
        item = self._items.get(key)
        if item is not None and item[1] is not None and item[1] <= now:
            del self._items[key]
            return None
        return item

    def _put(self, key: str, value: str, expires: float | None, now: float) -> None:
        if key not in self._items and len(self._items) >= self.limit:
            for old in [k for k, (_, e) in self._items.items() if e is not None and e <= now]:
                del self._items[old]
            while len(self._items) >= self.limit:
                del self._items[next(iter(self._items))]
        self._items[key] = (value, expires)

    async def get(self, key: str) -> str | None:
        """The value of ``key``, or None."""
        with self._lock:
            item = self._live(key, self._clock())
        return None if item is None else item[0]

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        with self._lock:
            now = self._clock()
            self._items.pop(key, None)
            self._put(key, value, None if ttl is None else now + ttl, now)

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add ``amount`` to the integer under ``key``; the new value."""
        with self._lock:
            now = self._clock()
            item = self._live(key, now)
            value = (int(item[0]) if item else 0) + amount
            expires = item[1] if item else None
            if expires is None and ttl is not None:
                expires = now + ttl
            self._put(key, str(value), expires, now)
            return value

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it was there."""
        with self._lock:
            return self._live(key, self._clock()) is not None and \
                self._items.pop(key, None) is not None

    async def ttl(self, key: str) -> float | None:
        """Seconds until ``key`` expires; None when absent or without expiry."""
        with self._lock:
            now = self._clock()
            item = self._live(key, now)
        return None if item is None or item[1] is None else item[1] - now


class Ephemeral:
    """One namespace of an :class:`EphemeralBackend`: every key is stored as
    ``<namespace>:<key>``, so no namespace sees another's keys.

    A plugin gets ``context.ephemeral`` (namespace ``plugin:<name>``); no permission is
    needed. On a cluster its values are shared by every replica.
    """

    def __init__(self, backend: EphemeralBackend, namespace: str) -> None:
        self._backend = backend
        self.namespace = namespace

    def _key(self, key: str) -> str:
        if not isinstance(key, str) or not key:
            raise ValueError("an ephemeral key is a non-empty string")
        return f"{self.namespace}:{key}"

    async def get(self, key: str) -> str | None:
        """The value of ``key``, or None (never set, deleted, or expired)."""
        return await self._backend.get(self._key(key))

    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        """Store the string ``value`` under ``key`` for ``ttl`` seconds (None: no expiry)."""
        if not isinstance(value, str):
            raise TypeError(f"ephemeral values are strings, not {type(value).__name__}")
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive seconds (or None)")
        await self._backend.set(self._key(key), value, ttl=ttl)

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add ``amount`` (may be negative) to the counter ``key`` atomically, on every
        replica alike; the new value. ``ttl`` starts when the counter has no expiry yet."""
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive seconds (or None)")
        return await self._backend.incr(self._key(key), int(amount), ttl=ttl)

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it was there."""
        return await self._backend.delete(self._key(key))

    async def ttl(self, key: str) -> float | None:
        """Seconds until ``key`` expires; None when it is absent or never expires."""
        return await self._backend.ttl(self._key(key))
