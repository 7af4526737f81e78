"""Wiring: a started plugin's contributions into the host's registries, and out again.

After a plugin's ``startup`` hook succeeds, :meth:`Wiring.contribute` calls its
``register_*`` hooks (only that plugin's implementations, through the dispatcher) and
files what they return — middleware, event handlers, security policies, health checks,
backup handlers, background tasks, tables, services, logging handlers, analytics hooks,
slash commands — each attributed to the plugin. :meth:`Wiring.withdraw` takes every one
of them out again, which is what disabling and quarantining rely on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import adapters
from .adapters import ContributionError, task_name
from .contributions import (
    AnalyticsHook,
    BackgroundTask,
    BackupHandler,
    EventHandler,
    HealthCheck,
    MiddlewareSpec,
    SecurityPolicy,
    ServiceSpec,
)

if TYPE_CHECKING:
    from .chat import SlashCommand
    from .context import HostServices
    from .kernel.dispatch import Dispatcher
    from .kernel.lifecycle import PluginRecord
    from .providers import ServiceProviders
    from .storage import Database
    from .tasks import TaskSupervisor

__all__ = ["HOOK_CONSUMERS", "Contributions", "HookConsumer", "Wiring", "task_name"]

log = logging.getLogger("plexichat.wiring")

MIDDLEWARE_LAYERS = ("web", "api", "cli")


@dataclass
class Contributions:
    """What one started plugin added to the host (besides routes)."""

    middleware: list[MiddlewareSpec] = field(default_factory=list)
    events: list[EventHandler] = field(default_factory=list)
    policies: list[str] = field(default_factory=list)
    health_checks: list[HealthCheck] = field(default_factory=list)
    backup_handlers: list[BackupHandler] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    logging_handlers: list[logging.Handler] = field(default_factory=list)
    analytics_hooks: list[str] = field(default_factory=list)
    other_db_extensions: list[str] = field(default_factory=list)
    slash_commands: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Plain data for the API and CLI."""
        return {
            "middleware": [f"{m.layer}:{m.name or _name(m.middleware)}" for m in self.middleware],
            "event_handlers": [f"{e.phase}:{e.event}" for e in self.events],
            "security_policies": list(self.policies),
            "health_checks": [f"{h.kind}:{h.name}" for h in self.health_checks],
            "backup_handlers": [b.name for b in self.backup_handlers],
            "background_tasks": list(self.tasks),
            "tables": list(self.tables),
            "services": list(self.services),
            "logging_handlers": [type(h).__name__ for h in self.logging_handlers],
            "analytics_hooks": list(self.analytics_hooks),
            "db_extensions": list(self.other_db_extensions),
            "slash_commands": [f"/{name}" for name in self.slash_commands],
        }


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


class Wiring:
    """Files each plugin's contributions into the host's registries."""

    def __init__(self, dispatcher: Dispatcher, services: HostServices,
                 providers: ServiceProviders, tasks: TaskSupervisor, database: Database,
                 by_plugin: dict[str, Contributions] | None = None) -> None:
        self.dispatcher = dispatcher
        self.services = services
        self.providers = providers
        self.tasks = tasks
        self.database = database
        self.by_plugin: dict[str, Contributions] = {} if by_plugin is None else by_plugin
        """What each started plugin contributed (changed in place, never replaced)."""
        # live, ordered registry consulted per request: (plugin, spec)
        self.middleware: list[tuple[str, MiddlewareSpec]] = []

    async def contribute(self, record: PluginRecord) -> None:
        """Collect every contribution of a plugin that has just started.

        The hooks are those of :data:`HOOK_CONSUMERS` that the wiring files, in the
        table's order; each result goes through its adapter, then each typed item
        through its filer. A wrong shape or a refused item is a warning on the plugin.
        """
        c = Contributions()
        self.by_plugin[record.name] = c
        for hook, consumer in HOOK_CONSUMERS.items():
            if consumer.file is None:
                continue
            for value in await self._collect(record, hook):
                try:
                    items = consumer.adapt(record.name, value)
                except ContributionError as exc:
                    record.warnings.append(str(exc))
                    log.warning("%s", exc)
                    continue
                for item in items:
                    try:
                        consumer.file(self, record, c, item)
                    except Exception as exc:
                        message = f"{hook}: {type(exc).__name__}: {exc}"
                        record.warnings.append(message)
                        log.warning("plugin %s: %s", record.name, message)
        self._declared_tasks(record, c)

    async def withdraw(self, record: PluginRecord) -> None:
        """Take every contribution of a plugin out of the host."""
        await self.tasks.stop_plugin(record.name)
        self.withdraw_now(record)

    def withdraw_now(self, record: PluginRecord) -> None:
        """The synchronous part of :meth:`withdraw` (tasks are cancelled, not awaited)."""
        name = record.name
        services = self.services
        c = self.by_plugin.pop(name, None)
        self.middleware = [(p, m) for p, m in self.middleware if p != name]
        services.events.remove_plugin(name)
        services.security.remove_plugin(name)
        services.analytics.remove_plugin(name)
        services.chat.remove_plugin(name)
        self.tasks.cancel(name)
        if c is None:
            return
        root = logging.getLogger("plexichat")
        for handler in c.logging_handlers:
            root.removeHandler(handler)
        for service in c.services:
            self.providers.restore(service)

    # --- collecting ------------------------------------------------------------------

    async def _collect(self, record: PluginRecord, hook: str) -> list[Any]:
        """What the plugin's implementations of ``hook`` returned, one value each."""
        try:
            results = await self.dispatcher.acall(
                hook, only=record.name, reraise=True, context=record.context
            )
        except Exception as exc:
            record.warnings.append(f"{hook} raised {type(exc).__name__}: {exc}")
            return []
        return list(results.values)

    # --- filers (one per hook; each files one typed item) ------------------------------

    def _tables(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        import sqlalchemy as sa

        if isinstance(value, sa.Table):
            prefix = f"{record.name}_"
            if not value.name.startswith(prefix):
                raise ValueError(f"table {value.name!r} must be named {prefix}<name>; "
                                 "use context.db.table(name, ...) to get such a table")
            self.database.create_tables(value.metadata, [value])
            c.tables.append(value.name)
        else:
            c.other_db_extensions.append(type(value).__name__)

    def _services(self, record: PluginRecord, c: Contributions, spec: ServiceSpec) -> None:
        self.providers.provide(spec.name, spec.provider, record.name)
        c.services.append(spec.name)

    def _middleware(self, record: PluginRecord, c: Contributions, spec: MiddlewareSpec) -> None:
        if spec.layer not in MIDDLEWARE_LAYERS:
            raise ValueError(f"middleware layer {spec.layer!r} is not one of "
                             f"{', '.join(MIDDLEWARE_LAYERS)}")
        c.middleware.append(spec)
        self.middleware.append((record.name, spec))

    def _events(self, record: PluginRecord, c: Contributions, h: EventHandler) -> None:
        self.services.events.add(record.name, h.event, h.handler, h.phase)
        c.events.append(h)

    def _policies(self, record: PluginRecord, c: Contributions, p: SecurityPolicy) -> None:
        self.services.security.add_policy(record.name, p.name, p.check)
        c.policies.append(p.name)

    def _health(self, record: PluginRecord, c: Contributions, h: HealthCheck) -> None:
        if h.kind not in ("readiness", "liveness"):
            raise ValueError(f"health check kind {h.kind!r} is not readiness/liveness")
        c.health_checks.append(h)

    def _backups(self, record: PluginRecord, c: Contributions, value: BackupHandler) -> None:
        c.backup_handlers.append(value)

    def _logging(self, record: PluginRecord, c: Contributions, h: logging.Handler) -> None:
        logging.getLogger("plexichat").addHandler(h)
        c.logging_handlers.append(h)

    def _analytics(self, record: PluginRecord, c: Contributions, hook: AnalyticsHook) -> None:
        self.services.analytics.add_hook(record.name, hook.event, hook.func)
        c.analytics_hooks.append(hook.event)

    def _tasks(self, record: PluginRecord, c: Contributions, task: BackgroundTask) -> None:
        self.tasks.start(record.name, task, {"context": record.context})
        c.tasks.append(task.name)

    def _slash_commands(self, record: PluginRecord, c: Contributions,
                        command: SlashCommand) -> None:
        # a name another plugin registered first raises here: refused and reported
        self.services.chat.add_command(record.name, command)
        c.slash_commands.append(command.name)

    def _declared_tasks(self, record: PluginRecord, c: Contributions) -> None:
        """Run the manifest's ``background_tasks`` a module-style plugin names.

        A guide-style ``PluginInterface`` starts its own tasks in ``initialize`` (as the
        guide shows), so its declared names are documentation, not something to run.
        """
        from .interface import PluginInterface

        if isinstance(record.obj, PluginInterface):
            return
        manifest = record.candidate.manifest
        for declared in manifest.background_tasks if manifest is not None else []:
            name, placement = ((declared, None) if isinstance(declared, str)
                               else (declared.name, declared.placement))
            if name in c.tasks:
                continue
            func = getattr(record.obj, name, None)
            if func is None or not callable(func):
                record.warnings.append(f"background task {name!r} declared in plugin.json "
                                       "is not a function of the plugin")
                continue
            self.tasks.start(record.name, BackgroundTask(name, func, placement=placement),
                             {"context": record.context})
            c.tasks.append(name)


@dataclass(frozen=True)
class HookConsumer:
    """Who takes what one ``register_*`` hook returns."""

    adapt: Callable[[str, Any], list[Any]]
    """The :mod:`plexichat.adapters` function turning one result into typed items."""
    file: Callable[[Wiring, PluginRecord, Contributions, Any], None] | None = None
    """The :class:`Wiring` method filing one item into its service or registry, run
    when the plugin starts; None when another part of the host asks for the hook."""
    consumer: str = "the wiring"
    """Where the contributions go, for readers of this table."""


HOOK_CONSUMERS: dict[str, HookConsumer] = {
    # filed by the wiring when a plugin starts, in this order
    "register_db_models": HookConsumer(adapters.db_models, Wiring._tables),
    "register_services": HookConsumer(adapters.services, Wiring._services),
    "register_middleware": HookConsumer(adapters.middleware, Wiring._middleware),
    "register_event_handlers": HookConsumer(adapters.event_handlers, Wiring._events),
    "register_security_policies": HookConsumer(adapters.security_policies, Wiring._policies),
    "register_health_checks": HookConsumer(adapters.health_checks, Wiring._health),
    "register_backup_handlers": HookConsumer(adapters.backup_handlers, Wiring._backups),
    "register_logging_handlers": HookConsumer(adapters.logging_handlers, Wiring._logging),
    "register_analytics_hooks": HookConsumer(adapters.analytics_hooks, Wiring._analytics),
    "register_background_tasks": HookConsumer(adapters.background_tasks, Wiring._tasks),
    "register_slash_commands": HookConsumer(adapters.slash_commands, Wiring._slash_commands),
    # asked for by other parts of the host, through the same adapters
    "register_routers": HookConsumer(adapters.routers, consumer="plexichat.web.app routes"),
    "register_ui_pages": HookConsumer(adapters.ui_pages, consumer="plexichat.web.ui pages"),
    "register_docs": HookConsumer(adapters.docs, consumer="plexichat.web.docs_viewer"),
    "register_commands": HookConsumer(adapters.commands,
                                      consumer="plexichat.cli.plugin_commands"),
}
"""Every ``register_*`` hook: its adapter and who files its contributions. Adding such
a hook is its hookspec, its contribution type, one line here and the service."""
