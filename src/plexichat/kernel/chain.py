"""Where each implementation of a chain runs, and the deadlines of a chain that waits.

:meth:`~plexichat.kernel.dispatch.Dispatcher.afilter` passes one value through every
implementation of a hook (the chat filters). This module holds what that chain needs
besides the dispatcher's plans: :class:`Probation` (a plain function runs in a worker
thread until it has proved quick, then inline), :class:`Step` (one implementation as
the chain calls it) and :class:`Supervised` (per-implementation deadlines, armed only
once the chain really waits).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

from ..markers import BLOCKING_ATTRIBUTE
from .calls import HookTimeout, Resumed

if TYPE_CHECKING:
    from .dispatch import Dispatcher, Implementation

__all__ = [
    "ASYNC", "INLINE", "INLINE_LIMIT", "PROBATION_CALLS", "QUICK_CALL", "THREAD", "Cursor",
    "Probation", "SlowInlineCall", "Step", "Supervised",
]

_perf = time.perf_counter

PROBATION_CALLS = 20
"""Quick calls in a row, in a worker thread, before a plain function runs inline."""
QUICK_CALL = 0.001
"""The most seconds a call on probation may take to count as quick."""
INLINE_LIMIT = 0.020
"""Seconds an inline call may take; one that takes longer goes back to a worker thread
for good."""


class SlowInlineCall(Exception):
    """A plain implementation running inline held the event loop too long.

    Recorded on its plugin as a warning (not counted against the fault budget); the
    implementation runs in a worker thread from then on.
    """


class Probation:
    """Where one plugin's plain implementation of one hook runs in a chain
    (:meth:`Dispatcher.afilter`, the chat filters).

    Handing a call to a worker thread costs about a hundred microseconds; calling a
    quick function inline costs well under one. So a plain implementation starts on
    probation in a worker thread, bounded by the caller's deadline. After
    :data:`PROBATION_CALLS` calls in a row that each took less than :data:`QUICK_CALL`
    seconds it runs inline. An inline call that takes longer than :data:`INLINE_LIMIT`
    (it blocked the event loop that long: an inline call cannot be interrupted) sends
    it back to a worker thread for good and records a :class:`SlowInlineCall` warning
    on its plugin. A function marked :func:`plexichat.markers.blocking` never runs
    inline. The state outlives call plans (it is kept per plugin and hook, for the
    same function).
    """

    __slots__ = ("function", "hook", "inline", "pinned", "plugin", "quick")

    def __init__(self, plugin: str, hook: str, function: Callable[..., Any]) -> None:
        self.plugin = plugin
        self.hook = hook
        self.function = function
        self.quick = 0
        self.inline = False
        self.pinned = bool(getattr(function, BLOCKING_ATTRIBUTE, False))
        """In a worker thread for good (marked blocking, or once too slow inline)."""

    def ran_in_thread(self, seconds: float) -> bool:
        """Count a call made in a worker thread that took ``seconds`` (its own time);
        True when that call ended the probation (from now on: inline)."""
        if self.pinned or self.inline:
            return False
        if seconds >= QUICK_CALL:
            self.quick = 0
            return False
        self.quick += 1
        if self.quick >= PROBATION_CALLS:
            self.inline = True
            return True
        return False

    def ran_inline(self, dispatcher: Dispatcher, seconds: float) -> None:
        """Check an inline call that took ``seconds``; too slow: back to a thread."""
        if seconds <= INLINE_LIMIT:
            return
        self.inline = False
        self.pinned = True
        dispatcher.note_failure(self.plugin, self.hook, SlowInlineCall(
            f"a call held the event loop {seconds * 1000:.0f} ms (limit "
            f"{INLINE_LIMIT * 1000:.0f} ms); it runs in a worker thread from now on"))




INLINE = "inline"
ASYNC = "async"
THREAD = "thread"


class Step:
    """One implementation in a chain, as it is called until the plan changes: its
    function, how its arguments are passed, its context and where it runs (``mode``)."""

    __slots__ = ("arg", "argnames", "context", "function", "mode", "plugin", "probation",
                 "shape", "stats")

    def __init__(self, impl: Implementation, arg: str, context: Any) -> None:
        self.plugin = impl.plugin
        self.function = impl.function
        self.argnames = impl.argnames
        self.stats = impl.stats
        self.probation = impl.probation
        self.arg = arg
        self.context = context
        self.shape = {(arg, "context"): 2, (arg,): 1}.get(impl.argnames, 0)
        """2: ``f(value, context)``; 1: ``f(value)``; 0: see :meth:`args`."""
        self.mode = (ASYNC if impl.is_async else
                     INLINE if impl.probation.inline else THREAD)

    def args(self, value: Any) -> list[Any]:
        """The positional arguments for ``value`` (a missing one raises KeyError)."""
        given = {self.arg: value, "context": self.context}
        return [given[name] for name in self.argnames]


class Cursor:
    """When the running implementation of a chain started (for its deadline)."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = 0.0


class Supervised:
    """The rest of a chain that waited: each implementation bounded by ``timeout``.

    The chain awaits its implementations directly. Once it waits, this drives it: each
    time it waits, the running implementation's deadline (``cursor.started`` +
    ``timeout``) is armed, re-armed when another implementation is running. When a
    deadline passes, the task is woken (as a cancellation, taken back at once) and a
    :class:`HookTimeout` is thrown into the chain where the implementation waits: that
    implementation fails and the chain goes on with the next one.
    """

    __slots__ = ("chain", "cursor", "pending", "timeout")

    def __init__(self, chain: Any, pending: Any, cursor: Cursor, timeout: float | None):
        self.chain = chain
        self.pending = pending
        self.cursor = cursor
        self.timeout = timeout

    def __await__(self) -> Generator[Any, Any, Any]:
        chain, pending, cursor, timeout = self.chain, self.pending, self.cursor, self.timeout
        if timeout is None:
            return (yield from Resumed(chain, pending).__await__())
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        armed_for = -1.0
        handle: asyncio.TimerHandle | None = None
        expired = [False]

        def expire() -> None:
            expired[0] = True
            if task is not None:
                task.cancel()

        try:
            while True:
                if cursor.started != armed_for:  # another implementation waits
                    if handle is not None:
                        handle.cancel()
                    armed_for = cursor.started
                    handle = loop.call_later(max(0.0, armed_for + timeout - _perf()), expire)
                try:
                    sent = yield pending
                except GeneratorExit:
                    chain.close()
                    raise
                except asyncio.CancelledError as exc:
                    if expired[0]:
                        expired[0] = False
                        uncancel = getattr(task, "uncancel", None)
                        if uncancel is None or uncancel() == 0:  # ours alone
                            thrown: BaseException = HookTimeout(
                                f"did not finish within {timeout:g} s")
                            armed_for = -1.0
                        else:
                            thrown = exc
                    else:
                        thrown = exc
                    try:
                        pending = chain.throw(thrown)
                    except StopIteration as stop:
                        return stop.value
                except BaseException as exc:
                    try:
                        pending = chain.throw(exc)
                    except StopIteration as stop:
                        return stop.value
                else:
                    try:
                        pending = chain.send(sent)
                    except StopIteration as stop:
                        return stop.value
        finally:
            if handle is not None:
                handle.cancel()
