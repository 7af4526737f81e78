"""The dispatcher: every hook call the host makes goes through here.

It calls the implementations of a hook in pluggy's order (``tryfirst``/``trylast``,
then last registered first), plain functions and coroutines alike, one after another.
An implementation that raises is recorded against its plugin and the others still run.
Results come back tagged with the plugin that produced them. Consecutive failures are
counted per plugin; when they reach the fault budget the plugin is quarantined through
the ``on_quarantine`` callback. Call counts and cumulative time are kept per plugin and
hook.

The call plan of each hook (the ordered implementations with their argument names) is
computed once and reused until a plugin is registered or unregistered, which is why a
dispatched call costs less than pluggy's own ``pm.hook.name()``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pluggy

__all__ = [
    "Dispatcher",
    "HookFailure",
    "HookResults",
    "HookStats",
    "HookTimeout",
]

log = logging.getLogger("plexichat.dispatch")

_perf = time.perf_counter


class HookResults(list):  # type: ignore[type-arg]
    """The results of one dispatched call, in call order.

    Each item is a ``(plugin, value)`` pair: the name of the plugin whose
    implementation returned ``value``. Implementations that returned None or failed
    contribute nothing. Plain pairs keep a dispatched call cheap::

        for plugin, router in dispatcher.call("register_routers", context=ctx):
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


@dataclass(frozen=True)
class HookFailure:
    """One failed call of one plugin's hook implementation."""

    plugin: str
    hook: str
    error: str
    """``ExceptionType: message``"""
    traceback: str
    at: float
    """Unix time of the failure."""


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


# One planned implementation: (plugin name, function, its only argument's name or None,
# all its argument names, stats).
_Impl = tuple[str, Callable[..., Any], "str | None", tuple[str, ...], HookStats]


class _Plan:
    """The ordered implementations of one hook, and how often the plan was called.

    Every implementation in a plan is called once per call of the plan, so one counter
    serves them all; it is folded into each implementation's stats when the plan is
    replaced.
    """

    __slots__ = ("calls", "impls")

    def __init__(self, impls: tuple[_Impl, ...]):
        self.impls = impls
        self.calls = 0

    def retire(self) -> None:
        for _, _, _, _, stats in self.impls:
            stats.calls += self.calls
        self.calls = 0


class Dispatcher:
    """Isolated, attributed, async-aware calls of pluggy hooks."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        *,
        fault_budget: int = 5,
        on_quarantine: Callable[[str, str], None] | None = None,
        failure_log_size: int = 50,
    ) -> None:
        self.pm = pm
        self.fault_budget = fault_budget
        self.on_quarantine = on_quarantine
        self._plans: dict[str, _Plan] = {}
        self._stats: dict[tuple[str, str], HookStats] = {}
        self._consecutive: dict[str, int] = {}
        self.failures: deque[HookFailure] = deque(maxlen=failure_log_size)

    # --- plans -------------------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget every call plan; call after registering or unregistering a plugin."""
        for plan in self._plans.values():
            plan.retire()
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
            argnames = tuple(impl.argnames)
            only_arg = argnames[0] if len(argnames) == 1 else None
            plan.append((plugin, impl.function, only_arg, argnames, stats))
        result = _Plan(tuple(plan))
        self._plans[hook_name] = result
        return result

    def implementers(self, hook_name: str) -> list[str]:
        """Plugins implementing ``hook_name``, in call order."""
        plan = self._plans.get(hook_name) or self._plan(hook_name)
        return [impl[0] for impl in plan.impls]

    # --- calls -------------------------------------------------------------------------

    def call(self, hook_name: str, /, **kwargs: Any) -> HookResults:
        """Call every implementation of a hook synchronously.

        Returns the non-None results in call order, tagged with their plugins. Use
        :meth:`acall` for hooks whose implementations may be coroutines.
        """
        plan = self._plans.get(hook_name)
        if plan is None:
            plan = self._plan(hook_name)
        plan.calls += 1
        results = HookResults()
        consecutive = self._consecutive
        t0 = _perf()
        for plugin, function, only_arg, argnames, stats in plan.impls:
            try:
                if only_arg is not None:
                    value = function(kwargs[only_arg])
                else:
                    value = function(*[kwargs[a] for a in argnames])
            except Exception as exc:
                t1 = _perf()
                self._failed(plugin, stats, hook_name, exc, t1 - t0, counted=True)
                t0 = t1
                continue
            t1 = _perf()
            stats.seconds += t1 - t0
            t0 = t1
            if consecutive and plugin in consecutive:
                del consecutive[plugin]
            if value is not None:
                results.append((plugin, value))
        return results

    async def acall(
        self,
        hook_name: str,
        /,
        *,
        timeout: float | None = None,
        only: str | None = None,
        sync_in_thread: bool = False,
        reraise: bool = False,
        **kwargs: Any,
    ) -> HookResults:
        """Call every implementation of a hook, awaiting those that are coroutines.

        Implementations run one after another, never concurrently. ``timeout`` bounds
        each one (a timed-out implementation counts as a failure). ``only`` restricts the
        call to one plugin. With ``sync_in_thread`` plain functions run in a worker
        thread, so a blocking implementation cannot stall the event loop. With
        ``reraise`` a failure is recorded and then raised to the caller (the host uses
        this for lifecycle hooks, whose failure changes the plugin's state).
        """
        plan = self._plans.get(hook_name)
        if plan is None:
            plan = self._plan(hook_name)
        results = HookResults()
        for plugin, function, _, argnames, stats in plan.impls:
            if only is not None and plugin != only:
                continue
            t0 = _perf()
            try:
                args = [kwargs[a] for a in argnames]
                value = await _invoke(function, args, timeout, sync_in_thread)
            except Exception as exc:
                self._failed(plugin, stats, hook_name, exc, _perf() - t0)
                if reraise:
                    raise
                continue
            stats.calls += 1
            stats.seconds += _perf() - t0
            self._consecutive.pop(plugin, None)
            if value is not None:
                results.append((plugin, value))
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
        counted: bool = False,
    ) -> None:
        if not counted:  # calls through a plan are counted by the plan
            stats.calls += 1
        stats.failures += 1
        stats.seconds += seconds
        error = f"{type(exc).__name__}: {exc}"
        self.failures.append(
            HookFailure(
                plugin=plugin,
                hook=hook_name,
                error=error,
                traceback="".join(traceback.format_exception(exc)),
                at=time.time(),
            )
        )
        log.warning("plugin %s: hook %s failed: %s", plugin, hook_name, error)
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
        pending: dict[str, int] = {}
        for hook, plan in self._plans.items():
            if any(impl[0] == plugin for impl in plan.impls):
                pending[hook] = plan.calls
        out = {}
        for (name, hook), stats in sorted(self._stats.items()):
            if name == plugin:
                figures = stats.as_dict()
                figures["calls"] = int(figures["calls"]) + pending.get(hook, 0)
                out[hook] = figures
        return out


async def _invoke(
    function: Callable[..., Any], args: list[Any], timeout: float | None, in_thread: bool
) -> Any:
    if in_thread and not inspect.iscoroutinefunction(function):
        value = await _bounded(asyncio.to_thread(function, *args), timeout)
    else:
        value = function(*args)
    if inspect.isawaitable(value):
        value = await _bounded(value, timeout)
    return value


async def _bounded(awaitable: Any, timeout: float | None) -> Any:
    if timeout is None:
        return await awaitable
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise HookTimeout(f"did not finish within {timeout:g} s") from None
