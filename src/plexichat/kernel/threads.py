"""Running plugin code that may block, without letting it hold the host hostage.

Two dangers of calling plugin code from the host:

- a call that never returns: ``asyncio.to_thread`` uses executor threads that are
  joined when the loop closes and when the interpreter exits, so one stuck plugin keeps
  the server from stopping. :func:`run_in_daemon_thread` gives each call a daemon
  thread of its own instead;
- ``SystemExit`` / ``KeyboardInterrupt`` raised by plugin code: left as they are, they
  stop the event loop and with it the host. They become :class:`PluginExit`, an
  ordinary exception the dispatcher records against the plugin.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["PluginExit", "run_in_daemon_thread"]


class PluginExit(Exception):
    """Plugin code raised SystemExit or KeyboardInterrupt: its failure, not the host's end."""

    @classmethod
    def wrap(cls, exc: BaseException) -> PluginExit:
        """The PluginExit standing for ``exc``, with its traceback (where the plugin exited)."""
        return cls(f"{type(exc).__name__}: {exc}").with_traceback(exc.__traceback__)


async def run_in_daemon_thread(function: Callable[..., Any], *args: Any,
                               name: str = "plexichat-plugin-call") -> Any:
    """Run ``function(*args)`` in a daemon thread of its own and await its result."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # cancelled: the caller stopped waiting
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = function(*args)
        except (SystemExit, KeyboardInterrupt) as exc:
            error = PluginExit.wrap(exc)
        except BaseException as exc:  # handed to the awaiting coroutine
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop has closed meanwhile
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    try:
        return await future
    finally:
        future.cancel()  # the caller stopped waiting: the thread's outcome goes nowhere
