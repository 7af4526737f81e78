"""Short-lived counters: how many times something happened lately, per key.

:class:`Counters` is the interface (login throttling counts failures through it);
:class:`MemoryCounters` keeps them in this process, bounded. A store shared by
replicas (Redis ``INCR`` + ``EXPIRE``, ``GET`` + ``PTTL``, ``DEL``) fits the same
interface.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = ["Count", "Counters", "MemoryCounters"]


@dataclass(frozen=True)
class Count:
    """A live counter: its value and the seconds until it expires."""

    value: int
    expires_in: float


class Counters(Protocol):
    """Counters that expire on their own."""

    def incr(self, key: str, ttl: float) -> int:
        """Add one to ``key`` (absent: start at 1); it then lives ``ttl`` seconds from now.
        Returns the new value."""
        ...

    def get(self, key: str) -> Count | None:
        """The live counter ``key``, or None when it is absent or expired."""
        ...

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        ...


class MemoryCounters:
    """:class:`Counters` in this process's memory, at most ``limit`` keys.

    When full, expired keys go first, then the oldest; ``clock`` (monotonic seconds)
    may be replaced by tests.
    """

    def __init__(self, limit: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._items: dict[str, tuple[int, float]] = {}  # key: (value, expiry)
        self._lock = threading.Lock()

    def incr(self, key: str, ttl: float) -> int:
        """Add one to ``key``; it then lives ``ttl`` seconds from now."""
        now = self.clock()
        with self._lock:
            value, expiry = self._items.pop(key, (0, now))
            value = value + 1 if expiry > now else 1
            if len(self._items) >= self.limit:
                self._evict(now)
            self._items[key] = (value, now + ttl)  # re-inserted: the newest
        return value

    def get(self, key: str) -> Count | None:
        """The live counter ``key``, or None."""
        now = self.clock()
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[1] <= now:
                del self._items[key]
                return None
        return Count(value=item[0], expires_in=item[1] - now)

    def delete(self, key: str) -> None:
        """Forget ``key``."""
        with self._lock:
            self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)

    def _evict(self, now: float) -> None:
        for key in [k for k, (_, expiry) in self._items.items() if expiry <= now]:
            del self._items[key]
        while len(self._items) >= self.limit:
            del self._items[next(iter(self._items))]
