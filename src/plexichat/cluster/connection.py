"""The Redis connection of a clustered replica."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["ClusterUnavailable", "connect"]


class ClusterUnavailable(RuntimeError):
    """``PLEXICHAT_REDIS_URL`` is set but the cluster extra is not installed."""


def connect(url: str) -> Redis:
    """An asyncio Redis client of ``url`` (connections open on first use).

    Raises :class:`ClusterUnavailable` naming the fix when redis-py is not installed.
    """
    try:
        from redis.asyncio import Redis
    except ImportError:
        raise ClusterUnavailable(
            "PLEXICHAT_REDIS_URL is set, but redis-py is not installed: "
            "pip install 'plexichat[cluster]'") from None
    return Redis.from_url(url, decode_responses=False, health_check_interval=5)
