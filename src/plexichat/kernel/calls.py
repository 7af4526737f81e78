"""Calling plugin code: the one way the host runs a function a plugin handed it.

Plugin code comes as plain functions and coroutine functions (and plain functions that
return an awaitable, such as a sync middleware returning ``call_next(request)``). Every
caller in the host wants the same things from such a call:

- the result, whatever kind of callable produced it (awaitables are awaited);
- an optional deadline, after which :class:`HookTimeout` is raised (a coroutine that
  finishes without suspending gets no timer: it is run up to its first suspension
  first, and only one that really waits is finished under the rest of its deadline);
- with ``in_thread``, a plain function run in a daemon thread of its own, so that a
  blocking call cannot stall the event loop and the deadline can cut the wait for it;
- ``SystemExit`` / ``KeyboardInterrupt`` raised by plugin code turned into
  :class:`~plexichat.kernel.threads.PluginExit`, so the host does not end;
- the failure attributed to the plugin: recorded with its traceback (and counted
  against its fault budget unless ``count=False``) through the callbacks a
  :class:`PluginCalls` is bound to — the dispatcher's ``record_failure`` and
  ``note_failure``, the single place failures are counted.

:func:`run_plugin_code` is the mechanism without the attribution (the dispatcher keeps
its own statistics around it); :class:`PluginCalls` adds the attribution, for the
services that call plugin code outside hooks: health checks, slash commands, request
middleware, event handlers, analytics hooks and background tasks.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

from .threads import PluginExit, coroutine_stack, run_in_daemon_thread, thread_stack

__all__ = [
    "FailureCallback",
    "HookTimeout",
    "PluginCalls",
    "Resumed",
    "run_plugin_code",
    "settle",
]

log = logging.getLogger("plexichat.kernel.calls")

_perf = time.perf_counter
_isawaitable = inspect.isawaitable
_iscoroutinefunction = inspect.iscoroutinefunction

FailureCallback = Callable[[str, str, BaseException], Any]
"""``(plugin, where, exception)``: how a failure of plugin code is reported."""


class HookTimeout(TimeoutError):
    """Plugin code did not finish within the time the host allows.

    ``stuck`` is, where the host could see it, the stack of the plugin's code at the
    moment the deadline passed (kept with the failure's traceback)."""

    stuck: str = ""


async def run_plugin_code(func: Callable[..., Any], /, *args: Any, timeout: float | None = None,
                          in_thread: bool = False, **kwargs: Any) -> Any:
    """Call ``func(*args, **kwargs)`` and await what it returns, within ``timeout``.

    With ``in_thread`` a plain function runs in a daemon thread (a coroutine function
    always runs on the event loop). Raises :class:`HookTimeout` when the deadline
    passes, :class:`~plexichat.kernel.threads.PluginExit` for ``SystemExit`` /
    ``KeyboardInterrupt``, and whatever else the plugin code raised. Nothing is
    recorded: see :class:`PluginCalls`.
    """
    started = _perf()
    try:
        if in_thread and not _iscoroutinefunction(func):
            call = functools.partial(func, *args, **kwargs) if kwargs else func
            ran: list[threading.Thread] = []
            try:
                value = await _within(run_in_daemon_thread(call, *(() if kwargs else args),
                                                           on_start=ran.append),
                                      timeout, timeout)
            except HookTimeout as exc:
                exc.stuck = thread_stack(ran[0]) if ran else ""
                raise
        else:
            value = func(*args, **kwargs)
        while value is not None and _isawaitable(value):
            value = await settle(value, timeout, started)
    except (SystemExit, KeyboardInterrupt) as exc:  # plugin code must not end the host
        raise PluginExit.wrap(exc) from None
    return value


async def settle(awaitable: Any, timeout: float | None, started: float) -> Any:
    """Await ``awaitable`` (from plugin code), at the latest ``timeout`` seconds after
    ``started``.

    A coroutine is run up to its first suspension inline, as a plain ``await`` would;
    one that completes there costs no task and no timer. Only one that really waits is
    finished under :func:`asyncio.wait_for` with what is left of its deadline.
    """
    if timeout is None:
        return await awaitable
    send = getattr(awaitable, "send", None)
    if send is None:  # a future or another awaitable object: no inline step
        return await _within(awaitable, timeout - (_perf() - started), timeout)
    try:
        pending = send(None)
    except StopIteration as stop:
        return stop.value
    remaining = timeout - (_perf() - started)
    if remaining <= 0:
        awaitable.close()
        raise HookTimeout(f"did not finish within {timeout:g} s")
    resumed = Resumed(awaitable, pending)
    try:
        return await _within(_await(resumed), remaining, timeout)
    except HookTimeout as exc:
        exc.stuck = resumed.stuck
        raise


class Resumed:
    """The rest of a coroutine already run up to its first suspension (``pending``):
    awaiting it finishes the coroutine."""

    __slots__ = ("coro", "pending", "stuck")

    def __init__(self, coro: Any, pending: Any) -> None:
        self.coro = coro
        self.pending = pending
        self.stuck = ""
        """Where the coroutine waited when it was cancelled (its deadline passed)."""

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # thrown in by the task (e.g. cancellation)
                if isinstance(exc, asyncio.CancelledError):
                    self.stuck = coroutine_stack(coro)
                try:
                    pending = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def _await(awaitable: Any) -> Any:
    return await awaitable


async def _within(awaitable: Any, timeout: float | None, promised: float | None) -> Any:
    """Await ``awaitable`` within ``timeout`` seconds (``promised``: the deadline to name)."""
    if timeout is None:
        return await awaitable
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise HookTimeout(f"did not finish within {promised or timeout:g} s") from None


class PluginCalls:
    """Calls of plugin code whose failures are attributed to the plugin.

    ``record(plugin, where, exc)`` keeps a failure and counts it against the plugin's
    fault budget; ``note(plugin, where, exc)`` keeps it without counting (used with
    ``count=False``; without it such failures are only logged). With neither, failures
    are logged with their traceback.
    """

    def __init__(self, record: FailureCallback | None = None,
                 note: FailureCallback | None = None) -> None:
        self.record = record
        self.note = note

    async def __call__(
        self,
        plugin: str,
        where: str,
        func: Callable[..., Any],
        /,
        *args: Any,
        timeout: float | None = None,
        in_thread: bool = False,
        count: bool = True,
        excuse: Callable[[Exception], bool] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Run ``func(*args, **kwargs)`` of ``plugin`` (see :func:`run_plugin_code`).

        A failure is blamed on ``plugin`` in ``where`` (``health:<check>``,
        ``slash:<command>``, ``middleware``, ``event:<event>``, ``task:<task>`` …) and
        then raised to the caller, which decides what the failure means for its work. An
        exception for which ``excuse`` returns True is raised without blame (an event
        handler's deliberate rejection, an error from further down a middleware chain).
        Keyword arguments named like this method's own go through
        :func:`functools.partial`.
        """
        try:
            return await run_plugin_code(func, *args, timeout=timeout, in_thread=in_thread,
                                         **kwargs)
        except Exception as exc:
            if excuse is None or not excuse(exc):
                self.blame(plugin, where, exc, count=count)
            raise

    def call_inline(self, plugin: str, where: str, func: Callable[..., Any], /, *args: Any,
                    count: bool = True, **kwargs: Any) -> Any:
        """Run a plain ``func`` of ``plugin`` now, from synchronous host code.

        A failure is blamed on ``plugin`` and raised. An awaitable it returns is
        finished on the running event loop in the background (its failure blamed the
        same way) and None is returned; without a running loop it cannot be, which is
        the plugin's failure.
        """
        try:
            try:
                value = func(*args, **kwargs)
            except (SystemExit, KeyboardInterrupt) as exc:
                raise PluginExit.wrap(exc) from None
            if value is not None and _isawaitable(value):
                self._in_background(plugin, where, value, count)
                return None
        except Exception as exc:
            self.blame(plugin, where, exc, count=count)
            raise
        return value

    def _in_background(self, plugin: str, where: str, awaitable: Any, count: bool) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            if hasattr(awaitable, "close"):
                awaitable.close()
            raise TypeError("returned an awaitable outside the event loop; "
                            "use a plain function here") from None

        async def finish() -> None:
            try:
                await self(plugin, where, _await, awaitable, count=count)
            except Exception:  # blamed already
                pass

        task = loop.create_task(finish())
        _background.add(task)
        task.add_done_callback(_background.discard)

    def blame(self, plugin: str, where: str, exc: BaseException, *, count: bool = True) -> None:
        """Attribute ``exc`` to ``plugin`` in ``where``: recorded (and counted unless
        ``count=False``), or logged with its traceback when nothing records."""
        report = self.record if count else self.note
        if report is not None:
            report(plugin, where, exc)
        else:
            log.warning("plugin %s: %s failed: %s", plugin, where, exc, exc_info=exc,
                        extra={"plugin": plugin})


_background: set[asyncio.Task[None]] = set()
