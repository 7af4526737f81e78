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
import sys
import threading
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ["STUCK_HEADING", "PluginExit", "coroutine_stack", "run_in_daemon_thread",
           "thread_stack"]


class PluginExit(Exception):
    """Plugin code raised SystemExit or KeyboardInterrupt: its failure, not the host's end."""

    @classmethod
    def wrap(cls, exc: BaseException) -> PluginExit:
        """The PluginExit standing for ``exc``, with its traceback (where the plugin exited)."""
        return cls(f"{type(exc).__name__}: {exc}").with_traceback(exc.__traceback__)


async def run_in_daemon_thread(function: Callable[..., Any], *args: Any,
                               name: str = "plexichat-plugin-call",
                               on_start: Callable[[threading.Thread], Any] | None = None
                               ) -> Any:
    """Run ``function(*args)`` in a daemon thread of its own and await its result.

    ``on_start`` is handed the thread once it runs (to look at its stack later)."""
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

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    if on_start is not None:
        on_start(thread)
    try:
        return await future
    finally:
        future.cancel()  # the caller stopped waiting: the thread's outcome goes nowhere


STUCK_HEADING = "Where the plugin's code was when its deadline passed"


def thread_stack(thread: threading.Thread) -> str:
    """The formatted stack of ``thread`` now ("" once it has ended)."""
    frame = sys._current_frames().get(thread.ident or -1)
    if frame is None:
        return ""
    return (f"{STUCK_HEADING} (thread {thread.name!r}, still running):\n"
            + "".join(traceback.format_stack(frame)))


def coroutine_stack(coro: Any) -> str:
    """The formatted await chain of a suspended coroutine, outermost first ("" if none)."""
    frames = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        frames.append((frame, frame.f_lineno))
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    if not frames:
        return ""
    return (f"{STUCK_HEADING}:\n"
            + "".join(traceback.StackSummary.extract(iter(frames)).format()))
