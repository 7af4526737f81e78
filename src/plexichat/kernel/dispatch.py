"""The dispatcher: every hook call the host makes goes through here.

It calls the implementations of a hook in pluggy's order (``tryfirst``/``trylast``,
then last registered first), plain functions and coroutines alike, one after another.
An implementation that raises is recorded against its plugin and the others still run.
Results come back tagged with the plugin that produced them. Consecutive failures are
counted per plugin; when they reach the fault budget the plugin is quarantined through
the ``on_quarantine`` callback. Call counts and cumulative time are kept per plugin and
hook.

There is one way to call a hook, :meth:`Dispatcher.acall`; the host awaits it for every
hook, plain functions and coroutines alike. What it costs per call is kept small:

- the call plan of each hook (the ordered implementations with their argument names,
  whether each is a coroutine function, and the same grouped per plugin for ``only=``)
  is computed once and reused until a plugin is registered or unregistered
  (:meth:`Dispatcher.invalidate`); a hook without implementations costs a lookup;
- a plain function runs inline (or, with ``sync_in_thread``, in a worker thread, which
  the chat filters ask for so that a blocking filter cannot stall the server);
- a coroutine is run up to its first suspension inline, as a plain ``await`` would;
  only one that really suspends is finished under ``asyncio.wait_for`` with what is left
  of its deadline, so a filter that never waits creates no task and no timer.

``bench/bench_dispatch.py`` measures this path as the chat service runs it, against
pluggy's ``pm.hook.name()`` and plain loops.

Each implementation's time is measured from just before its arguments are gathered to
just after it returns (or fails), with :func:`time.perf_counter`, and charged to its
plugin with one call.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable, Generator
from typing import Any

import pluggy

from .failures import FailureLog, PluginFailure
from .threads import PluginExit, run_in_daemon_thread

__all__ = [
    "Dispatcher",
    "HookFailure",
    "HookResults",
    "HookStats",
    "HookTimeout",
]

log = logging.getLogger("plexichat.kernel.dispatch")

_perf = time.perf_counter
isawaitable = inspect.isawaitable


class HookResults(list):  # type: ignore[type-arg]
    """The results of one dispatched call, in call order.

    Each item is a ``(plugin, value)`` pair: the name of the plugin whose
    implementation returned ``value``. Implementations that returned None or failed
    contribute nothing. Plain pairs keep a dispatched call cheap::

        for plugin, router in await dispatcher.acall("register_routers", context=ctx):
            ...
    """

    __slots__ = ()

    @property
    def values(self) -> list[Any]:
        """The values alone, in call order."""
        return [value for _, value in self]

    @property
    def plugins(self) -> list[str]:
        """The plugins that returned a value, in call order."""
        return [plugin for plugin, _ in self]


class HookTimeout(Exception):
    """An implementation did not finish within the time the host allows."""


HookFailure = PluginFailure
"""One failed call of one plugin's code (the dispatcher's name for :class:`PluginFailure`)."""


class HookStats:
    """Call counts and cumulative seconds of one plugin's implementation of one hook."""

    __slots__ = ("calls", "failures", "seconds")

    def __init__(self) -> None:
        self.calls = 0
        self.failures = 0
        self.seconds = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The figures as plain data."""
        return {"calls": self.calls, "failures": self.failures, "seconds": self.seconds}


class _Impl:
    """One planned implementation: its plugin, function, argument names and statistics."""

    __slots__ = ("argnames", "function", "is_async", "plugin", "stats")

    def __init__(self, plugin: str, function: Callable[..., Any], argnames: tuple[str, ...],
                 stats: HookStats) -> None:
        self.plugin = plugin
        self.function = function
        self.argnames = argnames
        self.stats = stats
        self.is_async = inspect.iscoroutinefunction(function)


class _Plan:
    """The ordered implementations of one hook, and the same per plugin (for ``only``)."""

    __slots__ = ("by_plugin", "impls")

    def __init__(self, impls: tuple[_Impl, ...]):
        self.impls = impls
        by_plugin: dict[str, list[_Impl]] = {}
        for impl in impls:
            by_plugin.setdefault(impl.plugin, []).append(impl)
        self.by_plugin = {plugin: tuple(group) for plugin, group in by_plugin.items()}


class Dispatcher:
    """Isolated, attributed, async-aware calls of pluggy hooks."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        *,
        fault_budget: int = 5,
        on_quarantine: Callable[[str, str], None] | None = None,
        failures_per_plugin: int = 20,
    ) -> None:
        self.pm = pm
        self.fault_budget = fault_budget
        self.on_quarantine = on_quarantine
        self._plans: dict[str, _Plan] = {}
        self._stats: dict[tuple[str, str], HookStats] = {}
        self._consecutive: dict[str, int] = {}
        self.failures = FailureLog(per_plugin=failures_per_plugin)
        """Every recorded failure, with its traceback; ``failures.of(plugin)`` per plugin."""

    # --- plans -------------------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget every call plan; call after registering or unregistering a plugin."""
        self._plans.clear()

    def _plan(self, hook_name: str) -> _Plan:
        caller = getattr(self.pm.hook, hook_name)
        plan = []
        # get_hookimpls() lists in registration order; pluggy calls the reverse.
        for impl in reversed(caller.get_hookimpls()):
            if impl.hookwrapper or impl.wrapper:
                # Wrappers need pluggy's generator protocol; they are refused at
                # registration (see PluginHost), so none reach a plan.
                continue
            plugin = self.pm.get_name(impl.plugin) or impl.plugin_name
            key = (plugin, hook_name)
            stats = self._stats.get(key)
            if stats is None:
                stats = self._stats[key] = HookStats()
            plan.append(_Impl(plugin, impl.function, tuple(impl.argnames), stats))
        result = _Plan(tuple(plan))
        self._plans[hook_name] = result
        return result

    def implementers(self, hook_name: str) -> list[str]:
        """Plugins implementing ``hook_name``, in call order."""
        plan = self._plans.get(hook_name) or self._plan(hook_name)
        return [impl.plugin for impl in plan.impls]

    # --- calls -------------------------------------------------------------------------

    async def acall(
        self,
        hook_name: str,
        /,
        *,
        timeout: float | None = None,
        only: str | None = None,
        sync_in_thread: bool = False,
        reraise: bool = False,
        spend_budget: bool = True,
        **kwargs: Any,
    ) -> HookResults:
        """Call every implementation of a hook, awaiting those that are coroutines.

        Returns the non-None results in call order, tagged with their plugins.
        Implementations run one after another, never concurrently. ``timeout`` bounds
        each one (a timed-out implementation counts as a failure). ``only`` restricts the
        call to one plugin. With ``sync_in_thread`` plain functions run in a worker
        thread, so a blocking implementation cannot stall the event loop (and
        ``timeout`` bounds them too); without it they run on the event loop's thread
        and ``timeout`` cannot interrupt them. With ``reraise`` a failure is recorded
        and then raised to the caller (the host uses this for lifecycle hooks, whose
        failure changes the plugin's state). With ``spend_budget=False`` a failure is
        recorded but does not count toward the fault budget (a plugin refusing new
        settings is answering, not malfunctioning).
        """
        plan = self._plans.get(hook_name)
        if plan is None:
            plan = self._plan(hook_name)
        impls = plan.impls if only is None else plan.by_plugin.get(only, ())
        results = HookResults()
        if not impls:
            return results
        consecutive = self._consecutive
        for impl in impls:
            t0 = _perf()
            try:
                try:
                    args = [kwargs[a] for a in impl.argnames]
                    if impl.is_async:
                        coro = impl.function(*args)
                        try:  # up to its first suspension, as a plain await would
                            pending = coro.send(None)
                        except StopIteration as stop:
                            value = stop.value
                        else:
                            value = await _finish(coro, pending, timeout, t0)
                    elif sync_in_thread:
                        # A daemon thread per call: a call that never returns cannot
                        # keep the host from stopping (see plexichat.kernel.threads).
                        value = await _bounded(
                            run_in_daemon_thread(impl.function, *args), timeout)
                        if value is not None and isawaitable(value):
                            value = await _bounded(value, timeout)
                    else:
                        value = impl.function(*args)
                        if value is not None and isawaitable(value):
                            value = await _bounded(value, timeout)
                except SystemExit as exc:  # plugin code must not end the host
                    raise PluginExit.wrap(exc) from None
            except Exception as exc:
                self._failed(impl.plugin, impl.stats, hook_name, exc, _perf() - t0,
                             spend_budget=spend_budget)
                if reraise:
                    raise
                continue
            stats = impl.stats
            stats.calls += 1
            stats.seconds += _perf() - t0
            if consecutive and impl.plugin in consecutive:
                del consecutive[impl.plugin]
            if value is not None:
                results.append((impl.plugin, value))
        return results

    # --- faults ------------------------------------------------------------------------

    def _failed(
        self,
        plugin: str,
        stats: HookStats,
        hook_name: str,
        exc: BaseException,
        seconds: float,
        *,
        spend_budget: bool = True,
    ) -> None:
        stats.calls += 1
        stats.failures += 1
        stats.seconds += seconds
        error = self.note_failure(plugin, hook_name, exc).error
        if not spend_budget:
            return
        count = self._consecutive.get(plugin, 0) + 1
        self._consecutive[plugin] = count
        if count >= self.fault_budget:
            self._consecutive.pop(plugin, None)
            reason = (
                f"fault budget spent: {count} consecutive failures; "
                f"last in {hook_name}: {error}"
            )
            if self.on_quarantine is not None:
                self.on_quarantine(plugin, reason)

    def note_failure(self, plugin: str, where: str, exc: BaseException) -> PluginFailure:
        """Keep and log (with its traceback) a failure of ``plugin``'s code in ``where``.

        Only the record: no statistics, no fault budget (see :meth:`record_failure`).
        The host uses it for failures that already end the plugin's run, such as an
        import error.
        """
        failure = self.failures.add(PluginFailure.from_exception(plugin, where, exc))
        log.warning("plugin %s: %s failed: %s", plugin, where, failure.error,
                    exc_info=exc, extra={"plugin": plugin})
        return failure

    def record_failure(self, plugin: str, hook_name: str, exc: BaseException) -> None:
        """Count a failure of ``plugin`` that happened outside a hook call.

        Background tasks and request middleware use this, so their crashes spend the
        same fault budget as failing hooks.
        """
        key = (plugin, hook_name)
        stats = self._stats.get(key)
        if stats is None:
            stats = self._stats[key] = HookStats()
        self._failed(plugin, stats, hook_name, exc, 0.0)

    def consecutive_failures(self, plugin: str) -> int:
        """How many failures in a row ``plugin`` has had."""
        return self._consecutive.get(plugin, 0)

    def forget(self, plugin: str) -> None:
        """Reset the failure count of ``plugin`` (after an operator re-enables it)."""
        self._consecutive.pop(plugin, None)

    def stats_for(self, plugin: str) -> dict[str, dict[str, float | int]]:
        """``{hook: {calls, failures, seconds}}`` for one plugin."""
        return {hook: stats.as_dict()
                for (name, hook), stats in sorted(self._stats.items()) if name == plugin}


async def _finish(coro: Any, pending: Any, timeout: float | None, started: float) -> Any:
    """Finish ``coro``, run up to a suspension on ``pending``, ``timeout`` seconds after
    ``started`` at the latest.

    :meth:`Dispatcher.acall` runs each coroutine up to its first suspension itself, as a
    plain ``await`` would: most filters never suspend, and those finish without a
    deadline timer or a task. One that suspends is finished here under the rest of its
    deadline (:func:`asyncio.wait_for`), so the deadline counts from ``started`` either
    way.
    """
    rest = _Resumed(coro, pending)
    if timeout is None:
        return await rest
    remaining = timeout - (_perf() - started)
    if remaining <= 0:
        coro.close()
        raise HookTimeout(f"did not finish within {timeout:g} s")
    return await _bounded(_await(rest), remaining, timeout)


class _Resumed:
    """The rest of a coroutine already run up to its first suspension (``pending``)."""

    __slots__ = ("coro", "pending")

    def __init__(self, coro: Any, pending: Any) -> None:
        self.coro = coro
        self.pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.pending
        while True:
            try:
                sent = yield pending
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # thrown in by the task (e.g. cancellation)
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


async def _bounded(awaitable: Any, timeout: float | None, promised: float | None = None,
                   ) -> Any:
    """Await ``awaitable`` within ``timeout`` seconds (``promised``: the deadline to name)."""
    if timeout is None:
        return await awaitable
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise HookTimeout(f"did not finish within {promised or timeout:g} s") from None
