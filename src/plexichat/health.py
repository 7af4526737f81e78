"""Health checks and self-tests of started plugins.

A plugin contributes health checks (``register_health_checks``, filed by
:class:`~plexichat.wiring.Wiring`) and may implement ``self_test``. Each check and
self-test runs isolated and bounded by the health timeout; a raising check counts
against its plugin's fault budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import adapters
from .contributions import HealthReport, SelfTestResult
from .kernel.dispatch import HookTimeout
from .kernel.lifecycle import PluginNotFound
from .kernel.states import PluginState

if TYPE_CHECKING:
    from .kernel.dispatch import Dispatcher
    from .kernel.lifecycle import PluginRecord
    from .wiring import Contributions

__all__ = ["PluginHealth"]


class PluginHealth:
    """Runs the health checks and self-tests of the plugins in ``records``."""

    def __init__(self, records: Mapping[str, PluginRecord],
                 contributions: Mapping[str, Contributions], dispatcher: Dispatcher, *,
                 timeout: float) -> None:
        self.records = records
        """Every plugin's record (the lifecycle's, read only)."""
        self.contributions = contributions
        """What each started plugin contributed, its health checks among them."""
        self.dispatcher = dispatcher
        self.timeout = timeout
        """How long one check or self-test may take."""

    def _record(self, name: str) -> PluginRecord:
        record = self.records.get(name)
        if record is None:
            raise PluginNotFound(f"no plugin named {name!r} is installed")
        return record

    async def health(self, name: str) -> HealthReport:
        """Run a plugin's health checks, each bounded by the health timeout."""
        record = self._record(name)
        if record.state is not PluginState.STARTED:
            return HealthReport(healthy=False, checks={
                "state": {"healthy": False, "detail": f"{record.state.value}: {record.reason}"}})
        checks: dict[str, Any] = {}
        contributions = self.contributions.get(name)
        for check in contributions.health_checks if contributions else []:
            checks[check.name] = await self._run_check(name, check.name, check.check)
            checks[check.name]["kind"] = check.kind
        return HealthReport(healthy=all(c["healthy"] for c in checks.values()), checks=checks)

    async def ready_problems(self) -> list[str]:
        """Failing readiness checks of started plugins, as ``plugin: check: detail``."""
        problems = []
        for name, c in list(self.contributions.items()):
            for check in c.health_checks:
                if check.kind != "readiness":
                    continue
                outcome = await self._run_check(name, check.name, check.check)
                if not outcome["healthy"]:
                    problems.append(f"{name}: {check.name}: {outcome.get('detail', '')}")
        return problems

    async def _run_check(self, plugin: str, name: str, func: Callable[..., Any]) -> dict[str, Any]:
        try:  # a plain check runs in a worker thread: it must not block the loop
            value = await self.dispatcher.calls(
                plugin, f"health:{name}", func, timeout=self.timeout, in_thread=True,
                excuse=lambda exc: isinstance(exc, HookTimeout))
        except HookTimeout:
            return {"healthy": False, "detail": f"did not answer within {self.timeout:g} s"}
        except Exception as exc:  # recorded against the plugin by dispatcher.calls
            return {"healthy": False, "detail": f"{type(exc).__name__}: {exc}"}
        return adapters.health_outcome(value)

    async def self_test(self, name: str) -> SelfTestResult:
        """Run one plugin's ``self_test`` hook, isolated and bounded."""
        record = self._record(name)
        if record.state is not PluginState.STARTED:
            return SelfTestResult(False, [], f"plugin is {record.state.value}: {record.reason}")
        try:
            results = await self.dispatcher.acall(
                "self_test", only=name, reraise=True, timeout=self.timeout,
                sync_in_thread=True, context=record.context)
        except HookTimeout:
            return SelfTestResult(False, [], "self-test did not finish within "
                                             f"{self.timeout:g} s")
        except Exception as exc:
            return SelfTestResult(False, [], f"self-test raised {type(exc).__name__}: {exc}")
        if not results:
            return SelfTestResult(True, [], "the plugin defines no self-test")
        return adapters.self_test(name, results.values[-1])
