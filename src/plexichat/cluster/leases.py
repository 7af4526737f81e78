"""Leases: one replica at a time holds a name, for a singleton background task.

A lease is taken for ``period`` seconds and renewed by its holder (every third of the
period, by :class:`~plexichat.tasks.TaskSupervisor`); a holder that dies stops
renewing, and another replica takes the name over within one period.

Two kinds, chosen by :func:`task_leases`:

- :class:`RedisLeases` (``PLEXICHAT_REDIS_URL`` set): ``SET key token NX PX period``
  takes it, and a small Lua script renews or releases it only while the key still holds
  this holder's token, so a holder that lost its lease never removes another's.
- :class:`PostgresLeases` (no Redis, the database is PostgreSQL): a session-level
  ``pg_try_advisory_lock`` on a connection the holder keeps open; the server releases
  it when that connection ends, so a killed holder's lease ends with its process.

Without either (one process on SQLite) there is no lease to take: every task runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import sqlalchemy as sa
    from redis.asyncio import Redis

__all__ = ["Lease", "LeaseProvider", "PostgresLeases", "RedisLeases", "task_leases"]

log = logging.getLogger("plexichat.cluster.leases")

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class Lease(Protocol):
    """One name, held by at most one replica at a time."""

    name: str

    async def acquire(self) -> bool:
        """Try once to take the lease; True when this holder has it now."""
        ...

    async def renew(self) -> bool:
        """Extend the lease by one period; False when this holder lost it."""
        ...

    async def release(self) -> None:
        """Give the lease up (harmless when it is not held)."""
        ...


class LeaseProvider(Protocol):
    """Makes the leases of one replica."""

    period: float
    """Seconds a lease lasts without renewal: the longest takeover after a crash."""

    def lease(self, name: str) -> Lease:
        """A lease on ``name`` for this replica (not taken yet)."""
        ...

    async def close(self) -> None:
        """Free the connections the leases used."""
        ...


class _RedisLease:
    """A lease on one Redis key, holding a random token."""

    def __init__(self, redis: Redis, name: str, period: float) -> None:
        self.name = name
        self._redis = redis
        self._key = f"plexichat:lease:{name}"
        self._token = uuid.uuid4().hex.encode()
        self._ms = max(1, int(period * 1000))

    async def acquire(self) -> bool:
        return bool(await self._redis.set(self._key, self._token, nx=True, px=self._ms))

    async def renew(self) -> bool:
        renewed = await self._redis.eval(  # type: ignore[misc]
            _RENEW, 1, self._key, self._token, str(self._ms))
        return bool(renewed)

    async def release(self) -> None:
        await self._redis.eval(_RELEASE, 1, self._key, self._token)  # type: ignore[misc]


class RedisLeases:
    """Leases as Redis keys with an expiry (see the module docstring)."""

    def __init__(self, redis: Redis, period: float) -> None:
        self.period = period
        self._redis = redis

    def lease(self, name: str) -> Lease:
        """A lease on the key ``plexichat:lease:<name>``."""
        return _RedisLease(self._redis, name, self.period)

    async def close(self) -> None:
        """Close the Redis client."""
        await self._redis.aclose()


_ADVISORY_KEY = "hashtextextended('plexichat:lease:' || current_schema() || ':' || :n, 0)"
"""The 64-bit advisory-lock key of a lease name, within the host's schema: hosts on other
schemas of one database never contend."""


class _PostgresLease:
    """A session-level advisory lock held on a connection of its own."""

    def __init__(self, engine: sa.Engine, name: str) -> None:
        self.name = name
        self._engine = engine
        self._key = 0  # known once taken
        self._conn: sa.Connection | None = None
        self._backend = 0  # the server process of the session holding the lock

    async def acquire(self) -> bool:
        return await asyncio.to_thread(self._acquire)

    def _acquire(self) -> bool:
        import sqlalchemy as sa

        if self._conn is not None:
            return True
        conn = self._engine.connect()
        try:
            key = conn.execute(sa.text(f"SELECT {_ADVISORY_KEY}"), {"n": self.name}).scalar_one()
            taken, backend = conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"),
                {"k": key}).one()
            conn.commit()
        except Exception:
            conn.invalidate()
            conn.close()
            raise
        if taken:
            self._conn, self._backend, self._key = conn, int(backend), int(key)
        else:
            conn.close()
        return bool(taken)

    async def renew(self) -> bool:
        return await asyncio.to_thread(self._renew)

    def _renew(self) -> bool:
        """The lock lives as long as its session: check that this is still that session."""
        import sqlalchemy as sa

        conn = self._conn
        if conn is None:
            return False
        try:
            # a connection that was lost would reconnect to a session without the lock
            held = not conn.invalidated and conn.execute(
                sa.text("SELECT pg_backend_pid()")).scalar() == self._backend
            conn.commit()
        except Exception as exc:
            log.warning("lease %s: its database connection failed: %s", self.name, exc)
            self._drop(conn)
            return False
        if not held:
            self._drop(conn)
        return bool(held)

    async def release(self) -> None:
        await asyncio.to_thread(self._release)

    def _release(self) -> None:
        import sqlalchemy as sa

        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            conn.commit()
            conn.close()
        except Exception:
            self._drop(conn)

    def _drop(self, conn: sa.Connection) -> None:
        """Forget a connection whose lock is gone or unknown; never reuse it."""
        self._conn = None
        with contextlib.suppress(Exception):
            conn.invalidate()
            conn.close()


class PostgresLeases:
    """Leases as PostgreSQL session-level advisory locks (see the module docstring)."""

    def __init__(self, engine: sa.Engine, period: float) -> None:
        self.period = period
        self._engine = engine

    def lease(self, name: str) -> Lease:
        """An advisory lock on a 64-bit hash of ``name`` and the current schema."""
        return _PostgresLease(self._engine, name)

    async def close(self) -> None:
        """Nothing of its own to close: the connections are the database's pool's."""


def task_leases(redis_url: str | None, engine: Any, period: float) -> LeaseProvider | None:
    """The leases of singleton tasks for this replica: Redis when ``redis_url`` is set,
    PostgreSQL advisory locks when the database ``engine`` is PostgreSQL, else None
    (one process: no lease needed). redis-py is imported only with a Redis URL."""
    if redis_url:
        from .connection import connect

        return RedisLeases(connect(redis_url), period)
    if getattr(getattr(engine, "dialect", None), "name", "") == "postgresql":
        return PostgresLeases(engine, period)
    return None
