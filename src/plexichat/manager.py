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
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pluggy

from . import adapters, hookspecs
from .config import HostSettings
from .context import HostServices, PluginContext
from .contributions import HealthReport, SelfTestResult
from .kernel.bus import Bus
from .kernel.discovery import PluginCandidate, discover
from .kernel.dispatch import Dispatcher, HookTimeout
from .kernel.loading import load_object as _load_object
from .kernel.loading import register_plugin
from .kernel.resolver import resolve
from .kernel.states import (
    STOP_STATES,
    TRANSITIONS,
    IllegalTransition,
    PluginState,
    PluginStateChanged,
)
from .kernel.threads import PluginExit, run_in_daemon_thread
from .markers import PROJECT_NAME
from .settings import fill_defaults, mask_secrets, merge_schemas, unmask, validate_settings
from .wiring import Wiring

__all__ = [
    "PluginHost", "PluginNotFound", "PluginRecord", "PluginState", "RescanReport",
    "SettingsRejected",
]

log = logging.getLogger("plexichat.host")


@dataclass
class PluginRecord:
    """Everything the host knows about one plugin.

    ``state`` changes only through :meth:`transition`.
    """

    candidate: PluginCandidate
    state: PluginState
    reason: str = ""
    obj: Any = None
    context: PluginContext | None = None
    routes: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bus: Bus | None = field(default=None, repr=False, compare=False)
    """Where :class:`~plexichat.kernel.states.PluginStateChanged` events go."""
    changed_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    """When ``state`` (or its reason) last changed."""

    @property
    def name(self) -> str:
        """The plugin's name (its entry-point name)."""
        return self.candidate.name

    def transition(self, new: PluginState, reason: str = "") -> None:
        """Move to state ``new`` because of ``reason``; the only way ``state`` changes.

        The move must be in :data:`~plexichat.kernel.states.TRANSITIONS`, or
        :class:`~plexichat.kernel.states.IllegalTransition` is raised (a host bug) and nothing
        changes. Staying in the same state only replaces the reason. A real change is
        published as :class:`~plexichat.kernel.states.PluginStateChanged` on :attr:`bus`.
        """
        old = self.state
        if new is not old and new not in TRANSITIONS.get(old, frozenset()):
            raise IllegalTransition(self.name, old, new)
        self.state, self.reason = new, reason
        self.changed_at = datetime.now(timezone.utc)
        if new is not old and self.bus is not None:
            self.bus.publish(PluginStateChanged(self.name, old, new, reason, self.changed_at))


RouteSink = Callable[["PluginRecord", list[Any]], None]


class PluginNotFound(LookupError):
    """No installed plugin has that name."""


class SettingsRejected(Exception):
    """New settings were valid but the plugin's ``config_changed`` refused them.

    The previous settings are back in force; ``reason`` says what the plugin raised.
    """

    def __init__(self, plugin: str, reason: str) -> None:
        self.plugin = plugin
        self.reason = reason
        super().__init__(f"plugin {plugin!r} refused the new settings: {reason}; "
                         "the previous settings were restored")


@dataclass
class RescanReport:
    """What :meth:`PluginHost.rescan` found and did."""

    added: list[str] = field(default_factory=list)
    """Plugins newly installed."""
    removed: list[str] = field(default_factory=list)
    """Plugins no longer installed: stopped, their routes and hooks gone, forgotten."""
    upgraded: list[str] = field(default_factory=list)
    """Plugins whose installed distribution changed (version or entry point)."""
    restart_required: list[str] = field(default_factory=list)
    """Upgraded plugins whose old code is already imported and still running."""
    started: list[str] = field(default_factory=list)
    """Plugins this rescan started."""
    stopped: dict[str, str] = field(default_factory=dict)
    """Running plugins this rescan had to stop (a dependency went away): the reason."""
    not_started: dict[str, str] = field(default_factory=dict)
    """Added or upgraded plugins that did not start: ``state: reason``."""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the API and CLI."""
        return {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in vars(self).items()}


class PluginHost:
    """Discovers, loads, starts and stops plugins, isolating each one's failures."""

    def __init__(self, settings: HostSettings | None = None) -> None:
        from .services.ai import LocalAI
        from .services.analytics import Analytics
        from .services.events import EventBus
        from .services.security import SecurityService
        from .storage import Database, HostStore
        from .tasks import TaskSupervisor

        self.settings = settings or HostSettings()
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.dispatcher = Dispatcher(
            self.pm,
            fault_budget=self.settings.fault_budget,
            on_quarantine=self.quarantine,
        )
        self.database = Database(self.settings.resolved_database_url())
        self.store = HostStore(self.database)
        count = self.dispatcher.record_failure
        self._default_services: dict[str, Any] = {"ai": LocalAI()}
        self.services = HostServices(
            store=self.store,
            database=self.database,
            ai=self._default_services["ai"],
            analytics=Analytics(on_failure=count),
            security=SecurityService(),
            events=EventBus(on_failure=count, timeout=self.settings.event_timeout),
        )
        from .services.backup import BackupService
        from .services.webhooks import WebhookEvents

        self.services.webhooks = WebhookEvents(self.database)

        self.services.backup = self._default_services["backup"] = BackupService(self)
        from .chat.service import ChatService

        self.services.chat = self._default_services["chat"] = ChatService(self)
        self.service_owners: dict[str, str] = {}
        self.tasks = TaskSupervisor(on_crash=count, stop_timeout=self.settings.shutdown_timeout)
        self.wiring = Wiring(self)
        self.records: dict[str, PluginRecord] = {}
        self.bus = Bus()
        """The host's own events, e.g. every :class:`PluginStateChanged`."""
        self.order: list[str] = []
        # what was last logged of each plugin's warnings and rejection (see resolve)
        self._logged_problems: dict[str, tuple[tuple[str, ...], str]] = {}
        self.ready = False
        # enable, disable and settings changes of the operator run one at a time
        self._operator_lock = asyncio.Lock()
        self.add_routes: RouteSink | None = None
        self.remove_routes: RouteSink | None = None
        self.app_for: Callable[[PluginRecord], Any] | None = None

    # --- resolution --------------------------------------------------------------------

    def resolve(self, candidates: list[PluginCandidate] | None = None) -> None:
        """Discover and resolve plugins; nothing is imported yet."""
        if candidates is None:
            candidates = discover()
        resolution = resolve(candidates,
                             self.settings.plugin_filter(self.store.enabled_states()))
        self.records = {}
        for c in candidates:
            state, reason = resolution.state_of(c.name)
            record = PluginRecord(c, state, reason, warnings=list(c.warnings), bus=self.bus)
            # Duplicate names: keep the first record but never let either load.
            if c.name in self.records:
                continue
            self.records[c.name] = record
            self._log_problems(c.name, c.warnings,
                               reason if state is PluginState.REJECTED else "")
        self.order = [c.name for c in resolution.order]

    def _log_problems(self, name: str, warnings: list[str], rejection: str) -> None:
        """Log a plugin's warnings and rejection, each once per change.

        :meth:`resolve` runs again on every rescan and enable; what it logged for a
        plugin the last time is not logged again until it changes (or the plugin is
        uninstalled and comes back).
        """
        logged_warnings, logged_rejection = self._logged_problems.get(name, ((), ""))
        for warning in warnings:
            if warning not in logged_warnings:
                log.warning("%s", warning, extra={"plugin": name})
        if rejection and rejection != logged_rejection:
            log.error("plugin %s rejected: %s", name, rejection, extra={"plugin": name})
        self._logged_problems[name] = (tuple(warnings), rejection)

    # --- start / stop ------------------------------------------------------------------

    async def start_all(self) -> None:
        """Load and start every resolved plugin in dependency order."""
        try:
            async with self._operator_lock:  # an enable meanwhile waits, not starts twice
                for name in self.order:
                    try:
                        await self.start_plugin(name)
                    except Exception as exc:  # a host bug must not stop the other plugins
                        record = self.records[name]
                        self._withdraw(record)
                        self._fail(record, f"starting failed: {type(exc).__name__}: {exc}",
                                   exc, "startup")
            await self.services.events.emit("startup")
        finally:
            self.ready = True

    async def start_plugin(self, name: str) -> PluginRecord:
        """Import, register and start one plugin; never raises for the plugin's faults."""
        record = self.records[name]
        blocked = self._blocked_by(record)
        if blocked:
            record.transition(PluginState.FAILED, blocked)
            log.error("plugin %s not started: %s", name, blocked)
            return record
        timeout = self.settings.startup_timeout
        try:
            obj = await asyncio.wait_for(run_in_daemon_thread(_load_object, record.candidate,
                                                              name="plexichat-plugin-import"),
                                         timeout)
        except asyncio.TimeoutError:
            return self._fail(record, f"import did not finish within {timeout:g} s")
        except PluginExit as exc:
            return self._fail(record, f"import failed: {exc}", exc, "import")
        except Exception as exc:
            return self._fail(record, f"import failed: {type(exc).__name__}: {exc}",
                              exc, "import")
        problem = self._register(record, obj)
        if problem:
            return self._fail(record, problem)
        self._grant_defaults(record)
        record.context = self._make_context(record)
        record.transition(PluginState.LOADED, "imported and registered")
        try:
            record.context._set_config(await self._initial_settings(record))
        except Exception as exc:
            self._unregister(record)
            return self._fail(record, str(exc), exc, "settings")
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
        await self.wiring.contribute(record)  # tables exist before routes are served
        if record.state is not PluginState.QUARANTINED:
            await self._contribute_routes(record)
        if record.state is PluginState.QUARANTINED:  # its fault budget ran out meanwhile
            return record
        record.transition(PluginState.STARTED)
        log.info("plugin %s started", name)
        return record

    async def stop_all(self) -> None:
        """Stop started plugins in reverse dependency order, each bounded and isolated.

        The ``shutdown`` event goes out first, while every plugin is still running.
        """
        await self._emit_shutdown()
        for name in reversed(self.order):
            record = self.records.get(name)
            if record is not None and record.state is PluginState.STARTED:
                await self.stop_plugin(name)

    async def stop_plugin(self, name: str, *, state: PluginState = PluginState.STOPPED,
                          reason: str = "") -> None:
        """Run one plugin's shutdown and take its contributions out of the host.

        It ends in ``state`` (one of :data:`~plexichat.kernel.states.STOP_STATES`) with
        ``reason``.
        """
        if state not in STOP_STATES:
            raise ValueError(f"a stop cannot end in {state!r}; it ends in one of: "
                             + ", ".join(sorted(s.value for s in STOP_STATES)))
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
            await self.wiring.withdraw(record)
            self._withdraw(record)
            record.transition(state, reason)

    async def _emit_shutdown(self, only: str | None = None) -> None:
        """The ``shutdown`` event (to one plugin's handlers with ``only``); never refused."""
        try:
            await self.services.events.emit("shutdown", only=only)
        except Exception:  # e.g. a pre handler raising EventRejected: stop anyway
            log.exception("the shutdown event failed")

    def quarantine(self, name: str, reason: str) -> None:
        """Take a plugin that keeps failing out of the running host."""
        record = self.records.get(name)
        if record is None or record.state is PluginState.QUARANTINED:
            return
        log.error("plugin %s quarantined: %s", name, reason)
        self.wiring.withdraw_now(record)
        self._withdraw(record)
        record.transition(PluginState.QUARANTINED, reason)

    # --- helpers -----------------------------------------------------------------------

    def _blocked_by(self, record: PluginRecord) -> str:
        from packaging.requirements import Requirement

        manifest = record.candidate.manifest
        for dep in manifest.dependencies if manifest is not None else []:
            dep_name = Requirement(dep).name
            other = self.records.get(dep_name)
            if other is not None and other.state is not PluginState.STARTED:
                return (f"requires {dep_name!r}, which is {other.state.value}"
                        + (f": {other.reason}" if other.reason else ""))
        return ""

    def _register(self, record: PluginRecord, obj: Any) -> str:
        problem = register_plugin(self.pm, record.name, obj)
        if not problem:
            record.obj = obj
        self.dispatcher.invalidate()
        return problem

    def _unregister(self, record: PluginRecord) -> None:
        if record.obj is not None and self.pm.is_registered(record.obj):
            self.pm.unregister(record.obj)
        self.dispatcher.invalidate()

    def _withdraw(self, record: PluginRecord) -> None:
        self._unregister(record)
        if record.routes and self.remove_routes is not None:
            self.remove_routes(record, record.routes)
        record.routes = []

    def _fail(self, record: PluginRecord, reason: str, exc: BaseException | None = None,
              where: str = "") -> PluginRecord:
        """Mark ``record`` failed; ``exc`` (raised in ``where``) is kept with its traceback.

        Failures of hooks are kept by the dispatcher already; pass ``exc`` only for
        failures outside hook calls (import, settings, a host error while starting).
        """
        record.transition(PluginState.FAILED, reason)
        if exc is not None:
            self.dispatcher.note_failure(record.name, where, exc)
        log.error("plugin %s failed: %s", record.name, reason, extra={"plugin": record.name})
        return record

    def _make_context(self, record: PluginRecord) -> PluginContext:
        return PluginContext(
            record.name,
            record.candidate.manifest,
            self.settings.data_dir / "plugins" / record.name,
            granted=self.store.grants(record.name),
            services=self.services,
            app=self.app_for(record) if self.app_for is not None else None,
        )

    def requested_permissions(self, record: PluginRecord) -> set[str]:
        """What the manifest and a guide-style ``get_services()`` ask for."""
        from .interface import SERVICE_PERMISSIONS, PluginInterface

        manifest = record.candidate.manifest
        wanted = set(manifest.permissions if manifest is not None else [])
        if isinstance(record.obj, PluginInterface):
            try:
                services = record.obj.get_services() or {}
            except Exception as exc:
                record.warnings.append(f"get_services raised {type(exc).__name__}: {exc}")
                services = {}
            for service, on in services.items():
                permission = SERVICE_PERMISSIONS.get(service)
                if on and permission:
                    wanted.add(permission)
        return wanted

    def _grant_defaults(self, record: PluginRecord) -> None:
        """On first enable, grant what the plugin requests (unless strict)."""
        if self.settings.strict_permissions or self.store.has_grant_record(record.name):
            return
        self.store.grant(record.name, self.requested_permissions(record), by="default")

    # --- settings ----------------------------------------------------------------------

    async def settings_schema(self, name: str) -> dict[str, Any]:
        """The plugin's settings schema: manifest ``settings_schema`` + ``config_schema``."""
        record = self.record(name)
        manifest = record.candidate.manifest
        schemas: list[Any] = [manifest.settings_schema if manifest is not None else None]
        if record.obj is not None and self.pm.is_registered(record.obj):
            results = await self.dispatcher.acall("config_schema", only=name,
                                                  context=record.context)
            schemas.extend(v for v in results.values if isinstance(v, dict))
        return merge_schemas(schemas)

    async def _initial_settings(self, record: PluginRecord) -> dict[str, Any]:
        schema = await self.settings_schema(record.name)
        stored = self.store.settings(record.name)
        current = fill_defaults(schema, stored or {})
        validate_settings(record.name, schema, current)
        if stored != current:
            self.store.put_settings(record.name, current)
        return current

    def current_settings(self, name: str) -> dict[str, Any]:
        """The stored settings of ``name`` (secrets in clear: for the host only)."""
        self.record(name)
        return self.store.settings(name) or {}

    async def update_settings(self, name: str, new: dict[str, Any]) -> dict[str, Any]:
        """Validate, persist, then tell the live plugin; roll back if it refuses.

        Raises :class:`~plexichat.settings.SettingsInvalid` (nothing stored) or
        :class:`SettingsRejected` (previous settings restored).
        """
        async with self._operator_lock:
            return await self._update_settings(name, new)

    async def _update_settings(self, name: str, new: dict[str, Any]) -> dict[str, Any]:
        record = self.record(name)
        schema = await self.settings_schema(name)
        old = self.store.settings(name) or fill_defaults(schema, {})
        candidate = fill_defaults(schema, unmask(schema, new, old))
        validate_settings(name, schema, candidate)
        self.store.put_settings(name, candidate)
        if record.state is PluginState.STARTED and record.context is not None:
            record.context._set_config(candidate)
            try:
                await self.dispatcher.acall("config_changed", only=name, reraise=True,
                                            spend_budget=False,
                                            timeout=self.settings.health_timeout,
                                            sync_in_thread=True,
                                            old=old, new=candidate, context=record.context)
            except Exception as exc:
                self.store.put_settings(name, old)
                record.context._set_config(old)
                raise SettingsRejected(name, f"{type(exc).__name__}: {exc}") from exc
            # every plugin may handle this event: secrets go out masked
            await self.services.events.emit("config.changed", plugin=name,
                                            old=mask_secrets(schema, old),
                                            new=mask_secrets(schema, candidate))
        return candidate

    # --- operator actions --------------------------------------------------------------

    def record(self, name: str) -> PluginRecord:
        """The record of ``name`` or :class:`PluginNotFound`."""
        record = self.records.get(name)
        if record is None:
            raise PluginNotFound(f"no plugin named {name!r} is installed")
        return record

    async def disable(self, name: str) -> PluginRecord:
        """Stop a plugin, take its contributions out, and remember the choice."""
        async with self._operator_lock:
            return await self._disable(name)

    async def _disable(self, name: str) -> PluginRecord:
        record = self.record(name)
        self.store.set_enabled(name, False, "operator")
        reason = "disabled by the operator"
        if record.state is PluginState.STARTED:
            await self.services.events.emit("plugin.disabled", name=name)
            await self._emit_shutdown(only=name)
            await self.stop_plugin(name, state=PluginState.DISABLED, reason=reason)
        elif record.state is not PluginState.REJECTED:
            self._withdraw(record)
            record.transition(PluginState.DISABLED, reason)
        else:
            record.transition(record.state, reason)
        return record

    async def enable(self, name: str) -> PluginRecord:
        """Remember the choice and start the plugin in the running host."""
        async with self._operator_lock:
            return await self._enable(name)

    async def _enable(self, name: str) -> PluginRecord:
        record = self.record(name)
        self.store.set_enabled(name, True, "operator")
        if record.state is PluginState.STARTED:
            return record
        previous = {n: r for n, r in self.records.items()}
        self.resolve([r.candidate for r in previous.values()])
        # keep the live records of everything else
        for other, old in previous.items():
            if other != name:
                self.records[other] = old
        record = self._adopt(previous[name], self.records[name])
        if record.state is PluginState.REJECTED:
            return record
        if record.state is PluginState.DISABLED:  # still disabled by the environment
            return record
        self.dispatcher.forget(name)
        await self.start_plugin(name)
        if record.state is PluginState.STARTED:
            await self.services.events.emit("startup", only=name)
            await self.services.events.emit("plugin.enabled", name=name)
        return record

    def _adopt(self, record: PluginRecord, resolved: PluginRecord) -> PluginRecord:
        """Keep ``record`` (not running) in place of its freshly ``resolved`` twin.

        It takes the resolved candidate and warnings, and moves to the resolved state
        through :meth:`PluginRecord.transition`, so the change is published.
        """
        record.candidate, record.warnings = resolved.candidate, resolved.warnings
        record.obj, record.context, record.routes = None, None, []
        record.transition(resolved.state, resolved.reason)
        self.records[record.name] = record
        return record

    def provide_service(self, service: str, provider: Any, plugin: str) -> None:
        """Let ``plugin`` replace the host's ``service`` (e.g. an ``ai_node`` for ``ai``)."""
        owner = self.service_owners.get(service)
        if owner is not None and owner != plugin:
            raise ValueError(f"service {service!r} is already provided by plugin {owner!r}")
        if service in ("ai", "backup", "chat", "webhooks", "security", "analytics"):
            setattr(self.services, service, provider)
        else:
            self.services.extra[service] = provider
        self.service_owners[service] = plugin

    def restore_default_service(self, service: str) -> None:
        """Put the host's own provider back when the plugin that replaced it goes."""
        self.service_owners.pop(service, None)
        if service in self._default_services:
            setattr(self.services, service, self._default_services[service])
        else:
            self.services.extra.pop(service, None)

    # --- health and self-test ------------------------------------------------------------

    async def health(self, name: str) -> HealthReport:
        """Run a plugin's health checks, each bounded by the health timeout."""
        record = self.record(name)
        if record.state is not PluginState.STARTED:
            return HealthReport(healthy=False, checks={
                "state": {"healthy": False, "detail": f"{record.state.value}: {record.reason}"}})
        checks: dict[str, Any] = {}
        contributions = self.wiring.by_plugin.get(name)
        for check in contributions.health_checks if contributions else []:
            checks[check.name] = await self._run_check(name, check.name, check.check)
            checks[check.name]["kind"] = check.kind
        return HealthReport(healthy=all(c["healthy"] for c in checks.values()), checks=checks)

    async def ready_problems(self) -> list[str]:
        """Failing readiness checks of started plugins, as ``plugin: check: detail``."""
        problems = []
        for name, c in list(self.wiring.by_plugin.items()):
            for check in c.health_checks:
                if check.kind != "readiness":
                    continue
                outcome = await self._run_check(name, check.name, check.check)
                if not outcome["healthy"]:
                    problems.append(f"{name}: {check.name}: {outcome.get('detail', '')}")
        return problems

    async def _run_check(self, plugin: str, name: str, func: Callable[..., Any]) -> dict[str, Any]:
        try:  # a plain function runs in a worker thread: it must not block the loop
            value = func() if inspect.iscoroutinefunction(func) else asyncio.to_thread(func)
            value = await asyncio.wait_for(value, self.settings.health_timeout)
            if inspect.isawaitable(value):  # a plain function that returned a coroutine
                value = await asyncio.wait_for(value, self.settings.health_timeout)
        except asyncio.TimeoutError:
            return {"healthy": False,
                    "detail": f"did not answer within {self.settings.health_timeout:g} s"}
        except Exception as exc:
            self.dispatcher.record_failure(plugin, f"health:{name}", exc)
            return {"healthy": False, "detail": f"{type(exc).__name__}: {exc}"}
        if isinstance(value, dict):
            return {**value, "healthy": bool(value.get("healthy", False))}
        return {"healthy": bool(value)}

    async def self_test(self, name: str) -> SelfTestResult:
        """Run one plugin's ``self_test`` hook, isolated and bounded."""
        record = self.record(name)
        if record.state is not PluginState.STARTED:
            return SelfTestResult(False, [], f"plugin is {record.state.value}: {record.reason}")
        try:
            results = await self.dispatcher.acall(
                "self_test", only=name, reraise=True, timeout=self.settings.health_timeout,
                sync_in_thread=True, context=record.context)
        except HookTimeout:
            return SelfTestResult(False, [], "self-test did not finish within "
                                             f"{self.settings.health_timeout:g} s")
        except Exception as exc:
            return SelfTestResult(False, [], f"self-test raised {type(exc).__name__}: {exc}")
        if not results:
            return SelfTestResult(True, [], "the plugin defines no self-test")
        return adapters.self_test(name, results.values[-1])

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

    # --- installs and uninstalls while running ------------------------------------------

    async def rescan(self) -> RescanReport:
        """Catch up with what pip changed since the host started, without a restart.

        Import caches are invalidated and entry points read afresh. New plugins are
        resolved with everything else (manifest, compatibility, dependencies) and
        started if they may; one that may not stays installed but not started, its
        record saying why. Plugins no longer installed are stopped (routes, hooks,
        tasks withdrawn), their modules forgotten and their records dropped. A plugin
        whose distribution changed while its old code is imported keeps running that
        code: Python cannot swap it safely, so its reason says a restart is required.
        A plugin never imported (rejected, disabled, failed to import) is simply
        resolved again, so installing a missing dependency lets it start.
        """
        import importlib

        async with self._operator_lock:  # not while starting, enabling or disabling
            importlib.invalidate_caches()
            candidates = await asyncio.to_thread(discover, use_index=False)
            return await self._apply_rescan(candidates)

    async def _apply_rescan(self, candidates: list[PluginCandidate]) -> RescanReport:
        import sys

        report = RescanReport()
        found: dict[str, PluginCandidate] = {}
        for c in candidates:
            found.setdefault(c.name, c)
        for name in [n for n in self.records if n not in found]:
            record = self.records[name]
            if record.state is PluginState.STARTED:
                await self._emit_shutdown(only=name)
                await self.stop_plugin(name)
            else:
                self._withdraw(record)
            self.dispatcher.forget(name)
            top = record.candidate.module.split(".")[0]
            if top and top != PROJECT_NAME:
                for module in [m for m in sys.modules if m == top or m.startswith(top + ".")]:
                    del sys.modules[module]
            del self.records[name]
            self._logged_problems.pop(name, None)
            report.removed.append(name)
            log.info("plugin %s uninstalled: removed from the running host", name)

        keep: dict[str, PluginRecord] = {}
        for name, record in self.records.items():
            old, new = record.candidate, found[name]
            changed = (old.distribution, old.distribution_version, old.entry_point,
                       old.manifest) != (new.distribution, new.distribution_version,
                                         new.entry_point, new.manifest)
            imported = record.obj is not None or old.module.split(".")[0] in sys.modules
            if changed:
                report.upgraded.append(name)
            if not imported and record.state is not PluginState.STARTED:
                continue  # resolved again below, with its new candidate if it changed
            keep[name] = record
            if changed:
                report.restart_required.append(name)
                record.transition(record.state,
                                  f"restart required: {new.distribution} "
                                  f"{new.distribution_version} is installed, but "
                                  f"{old.distribution_version} is imported and still "
                                  f"{record.state.value}; restart the host to load it")
                log.warning("plugin %s: %s", name, record.reason)
        report.added = sorted(n for n in found if n not in self.records)

        old_order = list(self.order)
        previous = dict(self.records)
        self.resolve([found[n] if n not in keep else keep[n].candidate for n in found])
        fresh = dict(self.records)
        self.records.update(keep)
        for name, record in previous.items():  # resolved again: the same record moves on
            if name not in keep:
                self._adopt(record, fresh[name])
        self.order = [n for n in old_order if n in keep and n not in self.order] + self.order
        for name, record in keep.items():  # running, but a dependency is gone now
            now = fresh[name]
            if (record.state is PluginState.STARTED and name not in report.restart_required
                    and now.state is PluginState.REJECTED):
                await self._emit_shutdown(only=name)
                await self.stop_plugin(name, state=PluginState.REJECTED, reason=now.reason)
                report.stopped[name] = now.reason

        for name in self.order:
            record = self.records[name]
            if name in keep or record.state is not PluginState.AVAILABLE:
                continue
            await self.start_plugin(name)
            if record.state is PluginState.STARTED:
                await self.services.events.emit("startup", only=name)
                report.started.append(name)
        for name in [*report.added, *report.upgraded]:
            record = self.records[name]
            if name not in keep and record.state is not PluginState.STARTED:
                report.not_started[name] = f"{record.state.value}: {record.reason}"
        return report

    # --- views -------------------------------------------------------------------------

    def hooks_of(self, name: str) -> list[str]:
        """Names of the hooks a registered plugin implements."""
        record = self.records.get(name)
        if record is None or record.obj is None or not self.pm.is_registered(record.obj):
            return []
        return sorted(c.name for c in self.pm.get_hookcallers(record.obj) or [])
