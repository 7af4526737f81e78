"""The plugin host: lifecycle of every plugin, one state machine per plugin.

discovered → manifest checked → resolved → loaded (imported, registered with pluggy)
→ started; side exits rejected, failed, quarantined, disabled. One plugin's failure is
that plugin's alone: the host records the reason and carries on with the others.

Each step is somebody else's job: :mod:`.discovery` finds candidates, :mod:`.resolver`
orders them, :mod:`.dispatch` calls their hooks. This module moves plugins between
states and keeps the record of what each one contributed.
"""

from __future__ import annotations

import asyncio
import enum
import importlib.metadata as md
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .config import HostSettings
from .context import PluginContext
from .discovery import ENTRY_POINT_GROUP, PluginCandidate, discover
from .dispatch import Dispatcher, HookTimeout
from .markers import PROJECT_NAME
from .resolver import resolve

__all__ = ["PluginHost", "PluginRecord", "PluginState"]

log = logging.getLogger("plexichat.host")


class PluginState(str, enum.Enum):
    """Where one plugin is in its lifecycle."""

    AVAILABLE = "available"
    """Static listing only: installed, valid, would load."""
    REJECTED = "rejected"
    DISABLED = "disabled"
    LOADED = "loaded"
    STARTED = "started"
    FAILED = "failed"
    QUARANTINED = "quarantined"
    STOPPED = "stopped"


@dataclass
class PluginRecord:
    """Everything the host knows about one plugin."""

    candidate: PluginCandidate
    state: PluginState
    reason: str = ""
    obj: Any = None
    context: PluginContext | None = None
    routes: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The plugin's name (its entry-point name)."""
        return self.candidate.name


RouteSink = Callable[["PluginRecord", list[Any]], None]


class PluginHost:
    """Discovers, loads, starts and stops plugins, isolating each one's failures."""

    def __init__(self, settings: HostSettings | None = None) -> None:
        self.settings = settings or HostSettings()
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.dispatcher = Dispatcher(
            self.pm,
            fault_budget=self.settings.fault_budget,
            on_quarantine=self.quarantine,
        )
        self.records: dict[str, PluginRecord] = {}
        self.order: list[str] = []
        self.ready = False
        self.add_routes: RouteSink | None = None
        self.remove_routes: RouteSink | None = None

    # --- resolution --------------------------------------------------------------------

    def resolve(self, candidates: list[PluginCandidate] | None = None) -> None:
        """Discover and resolve plugins; nothing is imported yet."""
        if candidates is None:
            candidates = discover()
        resolution = resolve(candidates, self.settings.plugin_filter())
        self.records = {}
        for c in candidates:
            if c.name in resolution.rejected:
                state, reason = PluginState.REJECTED, resolution.rejected[c.name]
            elif c.name in resolution.disabled:
                state, reason = PluginState.DISABLED, resolution.disabled[c.name]
            else:
                state, reason = PluginState.AVAILABLE, ""
            record = PluginRecord(c, state, reason, warnings=list(c.warnings))
            # Duplicate names: keep the first record but never let either load.
            if c.name in self.records:
                continue
            self.records[c.name] = record
            for warning in c.warnings:
                log.warning("%s", warning)
            if state is PluginState.REJECTED:
                log.error("plugin %s rejected: %s", c.name, reason)
        self.order = [c.name for c in resolution.order]

    # --- start / stop ------------------------------------------------------------------

    async def start_all(self) -> None:
        """Load and start every resolved plugin in dependency order."""
        try:
            for name in self.order:
                try:
                    await self.start_plugin(name)
                except Exception as exc:  # a host bug must not stop the other plugins
                    log.exception("plugin %s: unexpected error while starting", name)
                    record = self.records[name]
                    self._withdraw(record)
                    self._fail(record, f"starting failed: {type(exc).__name__}: {exc}")
        finally:
            self.ready = True

    async def start_plugin(self, name: str) -> PluginRecord:
        """Import, register and start one plugin; never raises for the plugin's faults."""
        record = self.records[name]
        blocked = self._blocked_by(record)
        if blocked:
            record.state, record.reason = PluginState.FAILED, blocked
            log.error("plugin %s not started: %s", name, blocked)
            return record
        timeout = self.settings.startup_timeout
        try:
            obj = await asyncio.wait_for(asyncio.to_thread(_load_object, record.candidate),
                                         timeout)
        except asyncio.TimeoutError:
            return self._fail(record, f"import did not finish within {timeout:g} s")
        except Exception as exc:
            return self._fail(record, f"import failed: {type(exc).__name__}: {exc}")
        problem = self._register(record, obj)
        if problem:
            return self._fail(record, problem)
        record.context = self._make_context(record)
        record.state = PluginState.LOADED
        try:
            await self.dispatcher.acall(
                "startup",
                only=name,
                timeout=timeout,
                sync_in_thread=True,
                reraise=True,
                context=record.context,
            )
        except HookTimeout:
            self._unregister(record)
            return self._fail(record, f"startup did not finish within {timeout:g} s "
                                      "(PLEXICHAT_STARTUP_TIMEOUT)")
        except Exception as exc:
            self._unregister(record)
            return self._fail(record, f"startup raised {type(exc).__name__}: {exc}")
        await self._contribute_routes(record)
        if record.state is PluginState.QUARANTINED:  # its fault budget ran out meanwhile
            return record
        record.state = PluginState.STARTED
        record.reason = ""
        log.info("plugin %s started", name)
        return record

    async def stop_all(self) -> None:
        """Stop started plugins in reverse dependency order, each bounded and isolated."""
        for name in reversed(self.order):
            record = self.records.get(name)
            if record is not None and record.state is PluginState.STARTED:
                await self.stop_plugin(name)

    async def stop_plugin(self, name: str, *, state: PluginState = PluginState.STOPPED) -> None:
        """Run one plugin's shutdown and take its contributions out of the host."""
        record = self.records[name]
        try:
            await self.dispatcher.acall(
                "shutdown",
                only=name,
                timeout=self.settings.shutdown_timeout,
                sync_in_thread=True,
                context=record.context,
            )
        finally:
            self._withdraw(record)
            record.state = state

    def quarantine(self, name: str, reason: str) -> None:
        """Take a plugin that keeps failing out of the running host."""
        record = self.records.get(name)
        if record is None or record.state is PluginState.QUARANTINED:
            return
        log.error("plugin %s quarantined: %s", name, reason)
        self._withdraw(record)
        record.state = PluginState.QUARANTINED
        record.reason = reason

    # --- helpers -----------------------------------------------------------------------

    def _blocked_by(self, record: PluginRecord) -> str:
        from packaging.requirements import Requirement

        for dep in (record.candidate.manifest or {}).get("dependencies", []):
            dep_name = Requirement(dep).name
            other = self.records.get(dep_name)
            if other is not None and other.state is not PluginState.STARTED:
                return (f"requires {dep_name!r}, which is {other.state.value}"
                        + (f": {other.reason}" if other.reason else ""))
        return ""

    def _register(self, record: PluginRecord, obj: Any) -> str:
        try:
            self.pm.register(obj, name=record.name)
        except Exception as exc:
            return f"registration failed: {type(exc).__name__}: {exc}"
        record.obj = obj
        for caller in self.pm.get_hookcallers(obj) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is not obj:
                    continue
                if not caller.has_spec() and not impl.optionalhook:
                    self._unregister(record)
                    return (f"implements {caller.name!r}, which is not a PlexiChat hook "
                            "(misspelt? see plexichat.hookspecs)")
                if impl.hookwrapper or impl.wrapper:
                    self._unregister(record)
                    return f"{caller.name!r} is a hook wrapper; PlexiChat does not support them"
        self.dispatcher.invalidate()
        return ""

    def _unregister(self, record: PluginRecord) -> None:
        if record.obj is not None and self.pm.is_registered(record.obj):
            self.pm.unregister(record.obj)
        self.dispatcher.invalidate()

    def _withdraw(self, record: PluginRecord) -> None:
        self._unregister(record)
        if record.routes and self.remove_routes is not None:
            self.remove_routes(record, record.routes)
        record.routes = []

    def _fail(self, record: PluginRecord, reason: str) -> PluginRecord:
        record.state = PluginState.FAILED
        record.reason = reason
        log.error("plugin %s failed: %s", record.name, reason)
        return record

    def _make_context(self, record: PluginRecord) -> PluginContext:
        return PluginContext(
            plugin_name=record.name,
            manifest=record.candidate.manifest or {},
            data_dir=self.settings.data_dir / "plugins" / record.name,
        )

    async def _contribute_routes(self, record: PluginRecord) -> None:
        if self.add_routes is None:
            return
        try:
            results = await self.dispatcher.acall(
                "register_routers", only=record.name, reraise=True, context=record.context
            )
        except Exception as exc:  # recorded and counted by the dispatcher
            record.warnings.append(f"register_routers raised {type(exc).__name__}: {exc}")
            return
        self.add_routes(record, results.values)

    # --- views -------------------------------------------------------------------------

    def hooks_of(self, name: str) -> list[str]:
        """Names of the hooks a registered plugin implements."""
        record = self.records.get(name)
        if record is None or record.obj is None or not self.pm.is_registered(record.obj):
            return []
        return sorted(c.name for c in self.pm.get_hookcallers(record.obj) or [])


def _load_object(candidate: PluginCandidate) -> Any:
    """Import what the entry point names; a class is instantiated."""
    ep = md.EntryPoint(name=candidate.name, value=candidate.entry_point,
                       group=ENTRY_POINT_GROUP)
    obj = ep.load()
    if inspect.isclass(obj):
        obj = obj()
    return obj
