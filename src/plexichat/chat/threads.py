"""The chat's database calls, run in a bounded pool of worker threads.

SQLAlchemy's engine is synchronous: a query made on the event loop's thread stops every
other request, WebSocket and task of the replica while it waits on the database. The
chat service hands each database call to :class:`DatabaseThreads` instead, whose pool
has ``PLEXICHAT_DATABASE_THREADS`` threads: at most that many calls run at once and the
rest queue, so a slow database cannot take every thread of the process.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["DatabaseThreads"]

P = ParamSpec("P")
R = TypeVar("R")


class DatabaseThreads:
    """Runs blocking database calls off the event loop, at most ``size`` at once."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._pool: ThreadPoolExecutor | None = None

    async def __call__(self, func: Callable[P, R], /, *args: P.args,
                       **kwargs: P.kwargs) -> R:
        """``func(*args, **kwargs)`` in a worker thread (with the caller's context
        variables); its result, or what it raised."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.size, thread_name_prefix="plexichat-db")
        call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def close(self) -> None:
        """Let the worker threads end once their calls are done."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
