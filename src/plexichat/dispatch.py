"""The dispatcher: every hook call the host makes goes through here.

It calls the implementations of a hook in pluggy's order (``tryfirst``/``trylast``,
then last registered first), plain functions and coroutines alike, one after another.
An implementation that raises is recorded against its plugin and the others still run.
Results come back tagged with the plugin that produced them. Consecutive failures are
counted per plugin; when they reach the fault budget the plugin is quarantined through
the ``on_quarantine`` callback. Call counts and cumulative time are kept per plugin and
hook.

The call plan of each hook (the ordered implementations with their argument names) is
computed once and reused until a plugin is registered or unregistered. For synchronous
calls (:meth:`Dispatcher.call`) a plan that is called often (a hundred calls) is then
specialised into a small function generated for exactly that list of implementations:
the loop is unrolled, each implementation is called with its own arguments (taken from
the keyword arguments once per call), and the result pairs are built in one go. That is
why a dispatched call of a hook with arguments (PlexiChat's all take ``context``) costs
less than half of pluggy's own ``pm.hook.name()`` although it does more; for a hook
without arguments pluggy is cheaper and the dispatcher is about half of it
(``bench/bench_dispatch.py`` prints the figures). The generated code contains no
plugin-provided text: the functions, plugin names, argument names and statistics are
passed in as values.

How time is measured: one :func:`time.perf_counter` reading is taken before the first
implementation and one after each implementation, so each implementation is charged
the interval between the reading before it and the reading after it, and the readings
are shared (the reading that ends one implementation starts the next). Each plugin's
cumulative ``seconds`` is therefore its own implementation's time, plus the few
nanoseconds of the dispatcher's bookkeeping between two implementations (adding the
previous interval, resetting a failure streak), which falls to the later one. After a
failure the clock is read again once the failure is recorded, so recording a failure
(formatting its traceback, logging, quarantining) is charged to nobody. Calls are
counted once per call of the plan, for all its implementations at once, and folded into
each implementation's statistics when the plan is replaced (:meth:`Dispatcher.stats_for`
adds the pending count).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
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


# One planned implementation: (plugin name, function, its argument names, stats).
_Impl = tuple[str, Callable[..., Any], tuple[str, ...], HookStats]

# A plan called this many times through Dispatcher.call gets a generated caller.
# Generating one costs about a millisecond for ten implementations (compiling), so hooks
# called only a few times keep the plain loop.
_SPECIALISE_AFTER = 100
# Plans with more implementations than this always run the plain loop (the generated
# code, and the time to compile it, grow with the number of implementations).
_MAX_UNROLLED = 64


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
        for _, _, _, stats in self.impls:
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
        failures_per_plugin: int = 20,
    ) -> None:
        self.pm = pm
        self.fault_budget = fault_budget
        self.on_quarantine = on_quarantine
        self._plans: dict[str, _Plan] = {}
        self._runs: dict[str, Callable[[dict[str, Any]], HookResults]] = {}
        self._stats: dict[tuple[str, str], HookStats] = {}
        self._consecutive: dict[str, int] = {}
        self.failures = FailureLog(per_plugin=failures_per_plugin)
        """Every recorded failure, with its traceback; ``failures.of(plugin)`` per plugin."""

    # --- plans -------------------------------------------------------------------------

    def invalidate(self) -> None:
        """Forget every call plan; call after registering or unregistering a plugin."""
        for plan in self._plans.values():
            plan.retire()
        self._plans.clear()
        self._runs.clear()

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
            plan.append((plugin, impl.function, tuple(impl.argnames), stats))
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
        try:
            run = self._runs[hook_name]
        except KeyError:
            run = self._runs[hook_name] = self._caller(hook_name)
        return run(kwargs)

    def _caller(self, hook_name: str) -> Callable[[dict[str, Any]], HookResults]:
        """The synchronous caller of a hook's current plan.

        A new plan is run by the plain loop (:meth:`_call_loop`). After it has been
        called ``_SPECIALISE_AFTER`` times it is replaced by a generated caller (see
        :func:`_generate`), so hooks called once or twice (at startup, by the CLI) never
        pay for generating code, and hooks called per request or per message run the
        fast version.
        """
        plan = self._plans.get(hook_name) or self._plan(hook_name)
        impls = plan.impls
        unrollable = len(impls) <= _MAX_UNROLLED

        def loop(kwargs: dict[str, Any]) -> HookResults:
            return self._call_loop(impls, hook_name, kwargs)

        def failed(index: int, exc: Exception, started: float) -> float:
            plugin, _, _, stats = impls[index]
            self._failed(plugin, stats, hook_name, exc, _perf() - started, counted=True)
            return _perf()

        def warming_up(kwargs: dict[str, Any]) -> HookResults:
            if unrollable and plan.calls >= _SPECIALISE_AFTER:
                run = _generate(plan, hook_name, failed, loop, self._consecutive)
                self._runs[hook_name] = run
                return run(kwargs)
            plan.calls += 1
            return self._call_loop(impls, hook_name, kwargs)

        return warming_up

    def _call_loop(
        self, impls: tuple[_Impl, ...], hook_name: str, kwargs: dict[str, Any]
    ) -> HookResults:
        """The plain loop over a plan: what the generated callers do, one by one.

        Used while a plan is new, for very long plans, and when the caller left out an
        argument that some implementation takes (that implementation then fails with
        ``KeyError``, counted against its plugin, and the others run).
        """
        results = HookResults()
        consecutive = self._consecutive
        arg = kwargs.__getitem__
        t0 = _perf()
        for plugin, function, argnames, stats in impls:
            try:
                value = function(*map(arg, argnames))
            except (Exception, SystemExit) as exc:  # a plugin's exit() must not end the host
                self._failed(plugin, stats, hook_name, exc, _perf() - t0, counted=True)
                t0 = _perf()
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
        spend_budget: bool = True,
        **kwargs: Any,
    ) -> HookResults:
        """Call every implementation of a hook, awaiting those that are coroutines.

        Implementations run one after another, never concurrently. ``timeout`` bounds
        each one (a timed-out implementation counts as a failure). ``only`` restricts the
        call to one plugin. With ``sync_in_thread`` plain functions run in a worker
        thread, so a blocking implementation cannot stall the event loop. With
        ``reraise`` a failure is recorded and then raised to the caller (the host uses
        this for lifecycle hooks, whose failure changes the plugin's state). With
        ``spend_budget=False`` a failure is recorded but does not count toward the fault
        budget (a plugin refusing new settings is answering, not malfunctioning).
        """
        plan = self._plans.get(hook_name)
        if plan is None:
            plan = self._plan(hook_name)
        results = HookResults()
        for plugin, function, argnames, stats in plan.impls:
            if only is not None and plugin != only:
                continue
            t0 = _perf()
            try:
                args = [kwargs[a] for a in argnames]
                value = await _invoke(function, args, timeout, sync_in_thread)
            except Exception as exc:
                self._failed(plugin, stats, hook_name, exc, _perf() - t0,
                             spend_budget=spend_budget)
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
        spend_budget: bool = True,
    ) -> None:
        if not counted:  # calls through a plan are counted by the plan
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


def _generate(
    plan: _Plan,
    hook_name: str,
    failed: Callable[[int, Exception, float], float],
    fallback: Callable[[dict[str, Any]], HookResults],
    consecutive: dict[str, int],
) -> Callable[[dict[str, Any]], HookResults]:
    """Generate the unrolled synchronous caller of a plan.

    For two implementations taking ``(message)`` the generated function reads::

        def run(kwargs):
            try:
                a0 = kwargs[k0]              # k0 == "message"
            except KeyError:
                return fallback(kwargs)
            t0 = perf()
            try:
                v0 = f0(a0)
            except (Exception, SystemExit) as exc:
                v0 = None
                t1 = failed(0, exc, t0)
            else:
                t1 = perf()
                s0.seconds += t1 - t0
                if consecutive and p0 in consecutive:
                    del consecutive[p0]
            try:
                v1 = f1(a0)
            ...
            if v0 is not None and v1 is not None:
                return HookResults(((p0, v0), (p1, v1)))
            return HookResults([pv for pv in ((p0, v0), (p1, v1)) if pv[1] is not None])

    Only identifiers made up here appear in the source; every value (argument names,
    functions, statistics, plugin names) is bound through the enclosing function's
    parameters.
    """
    impls = plan.impls
    argnames: list[str] = []
    for impl in impls:
        for name in impl[2]:
            if name not in argnames:
                argnames.append(name)
    local = {name: f"a{i}" for i, name in enumerate(argnames)}
    body = ["def run(kwargs):", "    plan.calls += 1"]
    if argnames:
        body.append("    try:")
        body += [f"        a{i} = kwargs[k{i}]" for i in range(len(argnames))]
        body += ["    except KeyError:", "        return fallback(kwargs)"]
    body.append("    t0 = perf()")
    for i, impl in enumerate(impls):
        args = ", ".join(local[name] for name in impl[2])
        body += [
            "    try:",
            f"        v{i} = f{i}({args})",
            "    except (Exception, SystemExit) as exc:",
            f"        v{i} = None",
            f"        t{i + 1} = failed({i}, exc, t{i})",
            "    else:",
            f"        t{i + 1} = perf()",
            f"        s{i}.seconds += t{i + 1} - t{i}",
            f"        if consecutive and p{i} in consecutive:",
            f"            del consecutive[p{i}]",
        ]
    if impls:
        pairs = "".join(f"(p{i}, v{i}), " for i in range(len(impls)))
        present = " and ".join(f"v{i} is not None" for i in range(len(impls)))
        body += [
            f"    if {present}:",
            f"        return HookResults(({pairs}))",
            f"    return HookResults([pv for pv in ({pairs}) if pv[1] is not None])",
        ]
    else:
        body.append("    return HookResults()")
    params = ["plan", "perf", "failed", "fallback", "consecutive", "HookResults"]
    params += [f"k{i}" for i in range(len(argnames))]
    for kind in "fsp":
        params += [f"{kind}{i}" for i in range(len(impls))]
    source = (
        f"def make({', '.join(params)}):\n"
        + "".join(f"    {line}\n" for line in body)
        + "    return run\n"
    )
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<plexichat.dispatch plan of {hook_name}>", "exec"), namespace)
    values: list[Any] = [plan, _perf, failed, fallback, consecutive, HookResults, *argnames]
    values += [impl[1] for impl in impls]
    values += [impl[3] for impl in impls]
    values += [impl[0] for impl in impls]
    run: Callable[[dict[str, Any]], HookResults] = namespace["make"](*values)
    return run


async def _invoke(
    function: Callable[..., Any], args: list[Any], timeout: float | None, in_thread: bool
) -> Any:
    try:
        if in_thread and not inspect.iscoroutinefunction(function):
            # A daemon thread per call: a call that never returns cannot keep the host
            # from stopping (see plexichat.threads).
            value = await _bounded(run_in_daemon_thread(function, *args), timeout)
        else:
            value = function(*args)
        if inspect.isawaitable(value):
            value = await _bounded(value, timeout)
    except SystemExit as exc:  # plugin code must not end the host
        raise PluginExit.wrap(exc) from None
    return value


async def _bounded(awaitable: Any, timeout: float | None) -> Any:
    if timeout is None:
        return await awaitable
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise HookTimeout(f"did not finish within {timeout:g} s") from None
