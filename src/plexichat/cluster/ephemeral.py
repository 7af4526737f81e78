"""Shared ephemeral state in Redis: what every replica of a cluster sees alike."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from redis.exceptions import ConnectionError, TimeoutError

from ..services.ephemeral import EphemeralUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis

P = ParamSpec("P")
T = TypeVar("T")

__all__ = ["PREFIX", "RedisEphemeral"]

PREFIX = "plexichat:ephemeral:"
"""Every key of the ephemeral state starts with this in Redis."""

# INCRBY, then an expiry only where the key has none: one atomic step in Redis
_INCR = """
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value
"""


def _reachable(method: Callable[P, Coroutine[Any, Any, T]],
               ) -> Callable[P, Coroutine[Any, Any, T]]:
    """Redis out of reach becomes :class:`EphemeralUnavailable` (a 503, not a 500)."""
    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except (ConnectionError, TimeoutError) as exc:
            raise EphemeralUnavailable(
                f"the cluster's shared state (Redis) cannot be reached: {exc}") from exc
    return call


def _ms(ttl: float) -> int:
    return max(1, round(ttl * 1000))


class RedisEphemeral:
    """:class:`~plexichat.services.ephemeral.EphemeralBackend` in Redis."""

    def __init__(self, redis: Redis, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self._incr = redis.register_script(_INCR)

    @_reachable
    async def get(self, key: str) -> str | None:
        """The value of ``key``, or None."""
        value = await self.redis.get(self.prefix + key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    @_reachable
    async def set(self, key: str, value: str, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""
        await self.redis.set(self.prefix + key, value,
                             px=None if ttl is None else _ms(ttl))

    @_reachable
    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        """Add ``amount`` to the integer under ``key``; the new value."""
        value = await self._incr(keys=[self.prefix + key],
                                 args=[amount, 0 if ttl is None else _ms(ttl)])
        return int(value)

    @_reachable
    async def delete(self, key: str) -> bool:
        """Remove ``key``; True when it was there."""
        return bool(await self.redis.delete(self.prefix + key))

    @_reachable
    async def ttl(self, key: str) -> float | None:
        """Seconds until ``key`` expires; None when absent or without expiry."""
        left = int(await self.redis.pttl(self.prefix + key))
        return left / 1000 if left >= 0 else None

    async def aclose(self) -> None:
        """Close the Redis connections (the host is stopping)."""
        await self.redis.aclose()
