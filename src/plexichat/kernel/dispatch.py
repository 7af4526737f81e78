"""The dispatcher: every hook call the host makes goes through here.

It calls the implementations of a hook in pluggy's order (``tryfirst``/``trylast``,
then last registered first), plain functions and coroutines alike, one after another.
An implementation that raises is recorded against its plugin and the others still run.
Results come back tagged with the plugin that produced them. Consecutive failures are
counted per plugin; when they reach the fault budget the plugin is quarantined through
the ``on_quarantine`` callback. Call counts and cumulative time are kept per plugin and
hook.

A hook is called in one of two ways, both through the same plans, failure records and
fault budget:

- :meth:`Dispatcher.acall` calls every implementation with the same arguments and
  collects their results (lifecycle hooks, ``register_*`` hooks, after-the-fact chat
  hooks). A plain function runs inline, or with ``sync_in_thread`` in a worker thread
  bounded by the deadline; a coroutine is run up to its first suspension inline and
  only one that really suspends is finished under ``asyncio.wait_for``.
- :meth:`Dispatcher.afilter` passes one value through every implementation in turn
  (the chat's ``message_will_post`` / ``message_will_update`` filters): one call per
  message. Implementations are called directly from a pre-built plan (function,
  argument shape, the plugin's context); coroutines are awaited directly, and only if
  the chain really waits is it driven under per-implementation deadlines
  (:class:`~plexichat.kernel.chain.Supervised`), so a chain that never waits arms no
  timer. Plain functions start on probation in a worker thread and run inline once
  proved quick (:class:`~plexichat.kernel.chain.Probation`).

The plans (the ordered implementations with their argument names, whether each is a
coroutine function, grouped per plugin for ``only=``) are computed once and reused
until a plugin is registered or unregistered (:meth:`Dispatcher.invalidate`); a hook
without implementations costs a lookup. Code outside hooks (health checks, slash
commands, middleware, tasks, event handlers) is called through :attr:`Dispatcher.calls`
(:mod:`plexichat.kernel.calls`), whose failures are recorded and counted here too.

``bench/bench_dispatch.py`` measures the chat's filter path against pluggy's
``pm.hook.name()`` and plain loops.

Each implementation's time is measured with :func:`time.perf_counter` from the end of
the previous one (or the call's start) to just after it returns or fails, and charged to
its plugin with one call.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Container, Sequence
from typing import Any

import pluggy

from . import chain
from .calls import HookTimeout, PluginCalls, run_plugin_code, settle
from .chain import ASYNC, INLINE, Cursor, Probation, Step, Supervised
from .failures import FailureLog, PluginFailure
from .threads import PluginExit, run_in_daemon_thread

__all__ = [
    "Dispatcher",
    "HookFailure",
    "HookResults",
    "HookStats",
    "HookTimeout",
    "ImplementationFailed",
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


class ImplementationFailed(Exception):
    """A fail-closed implementation failed (raised by :meth:`Dispatcher.afilter`).

    ``plugin`` and ``hook`` say whose and which; ``error`` is what it raised (also the
    ``__cause__``). The failure is recorded before this is raised.
    """

    def __init__(self, plugin: str, hook: str, error: Exception) -> None:
        super().__init__(f"plugin {plugin!r}: {hook}: {type(error).__name__}: {error}")
        self.plugin = plugin
        self.hook = hook
        self.error = error


class Implementation:
    """One planned implementation: its plugin, function, argument names, statistics and
    probation."""

    __slots__ = ("argnames", "function", "is_async", "plugin", "probation", "stats")

    def __init__(self, plugin: str, function: Callable[..., Any], argnames: tuple[str, ...],
                 stats: HookStats, probation: Probation) -> None:
        self.plugin = plugin
        self.function = function
        self.argnames = argnames
        self.stats = stats
        self.probation = probation
        self.is_async = inspect.iscoroutinefunction(function)


class _Plan:
    """The ordered implementations of one hook, and the same per plugin (for ``only``)."""

    __slots__ = ("by_plugin", "impls", "steps", "steps_arg", "steps_for")

    def __init__(self, impls: tuple[Implementation, ...]):
        self.impls = impls
        self.steps: tuple[Step, ...] = ()
        """The implementations as :meth:`Dispatcher.afilter` calls them."""
        self.steps_arg = ""
        self.steps_for: Callable[[str], Any] | None = None
        by_plugin: dict[str, list[Implementation]] = {}
        for impl in impls:
            by_plugin.setdefault(impl.plugin, []).append(impl)
        self.by_plugin = {plugin: tuple(group) for plugin, group in by_plugin.items()}

    def chain_steps(self, arg: str, context_of: Callable[[str], Any]) -> tuple[Step, ...]:
        """Plan the calls of :meth:`Dispatcher.afilter` (kept until the plan changes)."""
        self.steps = tuple(Step(impl, arg, context_of(impl.plugin)) for impl in self.impls)
        self.steps_arg = arg
        self.steps_for = context_of
        return self.steps


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
        self._rank: dict[str, int] = {}
        """Each plugin's place in dependency order (:meth:`set_order`)."""
        self._stats: dict[tuple[str, str], HookStats] = {}
        self._consecutive: dict[str, int] = {}
        self._probation: dict[tuple[str, str], Probation] = {}
        self.failures = FailureLog(per_plugin=failures_per_plugin)
        """Every recorded failure, with its traceback; ``failures.of(plugin)`` per plugin."""
        self.calls = PluginCalls(record=self.record_failure, note=self.note_failure)
        """Calls of plugin code outside hooks (health checks, slash commands, middleware,
        tasks …) whose failures are recorded and counted here."""

    # --- plans -------------------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget every call plan; call after registering or unregistering a plugin."""
        self._plans.clear()

    def set_order(self, names: Sequence[str]) -> None:
        """Order implementations by the plugins' places in ``names`` (dependency order).

        Plugins start concurrently, so the order pluggy registered them in is the order
        they happened to finish importing. With an order set, a hook's implementations
        run as if the plugins had been registered one by one in ``names``: within
        ``tryfirst``, plain and ``trylast`` alike, a plugin later in ``names`` runs
        first (before the plugins it depends on). A plugin not in ``names`` keeps
        pluggy's place for it.
        """
        self._rank = {name: i for i, name in enumerate(names)}
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
            probation = self._probation.get(key)
            if probation is None or probation.function is not impl.function:
                probation = self._probation[key] = Probation(plugin, hook_name, impl.function)
            plan.append(Implementation(plugin, impl.function, tuple(impl.argnames), stats,
                                       probation))
        rank = self._rank
        if rank and all(impl.plugin in rank for impl in plan):
            groups = {id(i.function): (0 if i.tryfirst else 2 if i.trylast else 1)
                      for i in caller.get_hookimpls()}
            plan.sort(key=lambda impl: (groups.get(id(impl.function), 1), -rank[impl.plugin]))
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
        thread, so a blocking implementation cannot stall the event loop and
        ``timeout`` bounds it too; without it they run on the event loop's thread and
        ``timeout`` cannot interrupt them. With ``reraise`` a failure is recorded and
        then raised to the caller (the host uses this for lifecycle hooks, whose failure
        changes the plugin's state). With ``spend_budget=False`` a failure is recorded
        but does not count toward the fault budget (a plugin refusing new settings is
        answering, not malfunctioning).
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
                    if impl.is_async or sync_in_thread:
                        value = await self._invoke(impl, args, timeout, sync_in_thread, t0)
                    else:
                        value = impl.function(*args)
                        if value is not None and isawaitable(value):
                            value = await settle(value, timeout, t0)
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

    async def afilter(
        self,
        hook_name: str,
        value: Any,
        /,
        *,
        arg: str,
        step: Callable[[str, Any, Any, bool], Any],
        context_of: Callable[[str], Any],
        timeout: float | None = None,
        fail_closed: Container[str] = (),
    ) -> Any:
        """Pass ``value`` through every implementation of a hook, in call order.

        Each implementation receives the current value as ``arg`` and its plugin's
        context as ``context``: ``context_of(plugin)``, asked once per plugin while the
        call plan stands (the host makes a plugin's context right after registering it,
        with no await in between, and drops it after unregistering it: either renews the
        plan; pass the same ``context_of`` object each time). Plain functions are kept off
        the event loop until they have proved quick (see :class:`Probation`), and each call
        is bounded by ``timeout``. A non-None result goes to ``step(plugin, result,
        current, fail_closed)``, which returns the next value (or raises to end the
        chain, e.g. a rejection). An implementation that fails is recorded and counted,
        and the chain goes on with the value it was given — unless its plugin is in
        ``fail_closed``: then :class:`ImplementationFailed` is raised after the failure
        is recorded. Returns the
        last value. The chat filters (``message_will_post`` …) run through here: one
        call per message, whatever the number of filters.
        """
        plan = self._plans.get(hook_name)
        if plan is None:
            plan = self._plan(hook_name)
        steps = plan.steps
        if plan.steps_for is not context_of or plan.steps_arg != arg:
            steps = plan.chain_steps(arg, context_of)
        cursor = Cursor()
        chain = self._chain(hook_name, steps, value, step, fail_closed, cursor)
        try:  # most chains never wait: they finish here, with no timer armed
            pending = chain.send(None)
        except StopIteration as stop:
            return stop.value
        return await Supervised(chain, pending, cursor, timeout)

    async def _chain(self, hook_name: str, steps: tuple[Step, ...], value: Any,
                     step: Callable[[str, Any, Any, bool], Any], fail_closed: Container[str],
                     cursor: Cursor) -> Any:
        """The loop of :meth:`afilter`: each implementation awaited directly (a deadline
        is armed by :class:`Supervised` only if the chain waits)."""
        consecutive = self._consecutive
        perf = _perf
        limit = chain.INLINE_LIMIT
        t0 = perf()
        for s in steps:
            try:
                try:
                    mode = s.mode
                    if mode is INLINE:  # a plain function that proved quick
                        shape = s.shape
                        if shape == 2:
                            result = s.function(value, s.context)
                        elif shape == 1:
                            result = s.function(value)
                        else:
                            result = s.function(*s.args(value))
                        t1 = perf()
                        if t1 - t0 > limit:
                            self._held_the_loop(hook_name, s, t1 - t0)
                        if result is not None and isawaitable(result):
                            cursor.started = t0
                            result = await result
                            t1 = perf()
                    elif mode is ASYNC:
                        cursor.started = t0
                        shape = s.shape
                        if shape == 2:
                            result = await s.function(value, s.context)
                        elif shape == 1:
                            result = await s.function(value)
                        else:
                            result = await s.function(*s.args(value))
                        t1 = perf()
                    else:  # on probation, or for good: a worker thread
                        cursor.started = t0
                        result, seconds = await run_in_daemon_thread(
                            _timed, s.function, s.args(value))
                        if s.probation.ran_in_thread(seconds):
                            self._plans.pop(hook_name, None)  # plan it inline
                        if result is not None and isawaitable(result):
                            result = await result
                        t1 = perf()
                except SystemExit as exc:  # plugin code must not end the host
                    raise PluginExit.wrap(exc) from None
            except Exception as exc:
                t1 = perf()
                self._failed(s.plugin, s.stats, hook_name, exc, t1 - t0)
                t0 = t1
                if s.plugin in fail_closed:
                    raise ImplementationFailed(s.plugin, hook_name, exc) from exc
                continue
            stats = s.stats
            stats.calls += 1
            stats.seconds += t1 - t0
            t0 = t1
            if result is not None:
                failures = stats.failures
                value = step(s.plugin, result, value, s.plugin in fail_closed)
                t0 = perf()
                if stats.failures != failures:  # a result of the wrong kind: a failure
                    continue
            if consecutive and s.plugin in consecutive:
                del consecutive[s.plugin]
        return value

    def _held_the_loop(self, hook_name: str, step: Step, seconds: float) -> None:
        """An inline call of ``step`` took ``seconds``: too long, back to a thread."""
        step.probation.ran_inline(self, seconds)
        self._plans.pop(hook_name, None)

    async def _invoke(self, impl: Implementation, args: list[Any], timeout: float | None,
                      sync_in_thread: bool, started: float) -> Any:
        """One call of :meth:`acall` that may wait: a coroutine, or (``sync_in_thread``)
        a plain function in a daemon worker thread, so that a call that never returns
        cannot keep the host from stopping (see :mod:`plexichat.kernel.threads`)."""
        if impl.is_async:
            return await settle(impl.function(*args), timeout, started)
        value = await run_plugin_code(impl.function, *args, timeout=timeout,
                                      in_thread=sync_in_thread)
        if value is not None and isawaitable(value):
            value = await settle(value, timeout, started)
        return value

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



def _timed(function: Callable[..., Any], args: list[Any]) -> tuple[Any, float]:
    """``function(*args)`` and the seconds it took (run in a worker thread)."""
    started = _perf()
    value = function(*args)
    return value, _perf() - started
