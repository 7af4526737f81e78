"""Wiring: a started plugin's contributions into the host's registries, and out again.

After a plugin's ``startup`` hook succeeds, :meth:`Wiring.contribute` calls its
``register_*`` hooks (only that plugin's implementations, through the dispatcher) and
files what they return — middleware, event handlers, security policies, health checks,
backup handlers, background tasks, tables, services, logging handlers, analytics hooks,
slash commands — each attributed to the plugin. :meth:`Wiring.withdraw` takes every one
of them out again, which is what disabling and quarantining rely on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .contributions import (
    BackgroundTask,
    BackupHandler,
    EventHandler,
    HealthCheck,
    MiddlewareSpec,
    SecurityPolicy,
    ServiceSpec,
)

if TYPE_CHECKING:
    from .manager import PluginHost, PluginRecord

__all__ = ["Contributions", "Wiring"]

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


def task_name(func: Callable[..., Any]) -> str:
    """The name of a task a plugin gave as a bare callable: its function's name.

    ``deliver`` for a function defined inside ``register_background_tasks`` (not
    ``register_background_tasks.<locals>.deliver``), for a bound method ``deliver`` of
    its class, the wrapped function's for a :func:`functools.partial`.
    """
    target = func
    while isinstance(target, functools.partial):
        target = target.func
    name = getattr(target, "__name__", None)
    return name if isinstance(name, str) and name else type(func).__name__


class Wiring:
    """Files each plugin's contributions into the host's registries."""

    def __init__(self, host: PluginHost) -> None:
        self.host = host
        self.by_plugin: dict[str, Contributions] = {}
        # live, ordered registry consulted per request: (plugin, spec)
        self.middleware: list[tuple[str, MiddlewareSpec]] = []

    async def contribute(self, record: PluginRecord) -> None:
        """Collect every contribution of a plugin that has just started."""
        c = Contributions()
        self.by_plugin[record.name] = c
        for hook, filer in (
            ("register_db_models", self._tables),
            ("register_services", self._services),
            ("register_middleware", self._middleware),
            ("register_event_handlers", self._events),
            ("register_security_policies", self._policies),
            ("register_health_checks", self._health),
            ("register_backup_handlers", self._backups),
            ("register_logging_handlers", self._logging),
            ("register_analytics_hooks", self._analytics),
            ("register_background_tasks", self._tasks),
            ("register_slash_commands", self._slash_commands),
        ):
            for value in await self._collect(record, hook):
                try:
                    filer(record, c, value)
                except Exception as exc:
                    message = f"{hook}: {type(exc).__name__}: {exc}"
                    record.warnings.append(message)
                    log.warning("plugin %s: %s", record.name, message)
        self._declared_tasks(record, c)

    async def withdraw(self, record: PluginRecord) -> None:
        """Take every contribution of a plugin out of the host."""
        await self.host.tasks.stop_plugin(record.name)
        self.withdraw_now(record)

    def withdraw_now(self, record: PluginRecord) -> None:
        """The synchronous part of :meth:`withdraw` (tasks are cancelled, not awaited)."""
        name = record.name
        services = self.host.services
        c = self.by_plugin.pop(name, None)
        self.middleware = [(p, m) for p, m in self.middleware if p != name]
        services.events.remove_plugin(name)
        services.security.remove_plugin(name)
        services.analytics.remove_plugin(name)
        if hasattr(services.chat, "remove_plugin"):
            services.chat.remove_plugin(name)
        self.host.tasks.cancel(name)
        if c is None:
            return
        root = logging.getLogger("plexichat")
        for handler in c.logging_handlers:
            root.removeHandler(handler)
        for service in c.services:
            self.host.restore_default_service(service)

    # --- collecting ------------------------------------------------------------------

    async def _collect(self, record: PluginRecord, hook: str) -> list[Any]:
        try:
            results = await self.host.dispatcher.acall(
                hook, only=record.name, reraise=True, context=record.context
            )
        except Exception as exc:
            record.warnings.append(f"{hook} raised {type(exc).__name__}: {exc}")
            return []
        out: list[Any] = []
        for value in results.values:
            if isinstance(value, (list, tuple)):
                out.extend(value)
            elif isinstance(value, Mapping) and hook not in _MAPPING_HOOKS:
                out.extend(value.values())
            else:
                out.append(value)
        return out

    # --- filers (one per hook) --------------------------------------------------------

    def _tables(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        import sqlalchemy as sa

        if isinstance(value, sa.Table):
            prefix = f"{record.name}_"
            if not value.name.startswith(prefix):
                raise ValueError(f"table {value.name!r} must be named {prefix}<name>; "
                                 "use context.db.table(name, ...) to get such a table")
            value.create(self.host.database.engine, checkfirst=True)
            c.tables.append(value.name)
        else:
            c.other_db_extensions.append(type(value).__name__)

    def _services(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        specs = ([ServiceSpec(k, v) for k, v in value.items()] if isinstance(value, Mapping)
                 else [value])
        for spec in specs:
            if not isinstance(spec, ServiceSpec):
                raise TypeError(f"expected ServiceSpec or {{name: provider}}, got "
                                f"{type(spec).__name__}")
            self.host.provide_service(spec.name, spec.provider, record.name)
            c.services.append(spec.name)

    def _middleware(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        if isinstance(value, Mapping):  # the guide's {"web": [...], "api": [...]}
            specs = [MiddlewareSpec(layer, fn) for layer, fns in value.items()
                     for fn in (fns if isinstance(fns, (list, tuple)) else [fns])]
        else:
            specs = [value]
        for spec in specs:
            if not isinstance(spec, MiddlewareSpec):
                raise TypeError(f"expected MiddlewareSpec, got {type(spec).__name__}")
            if spec.layer not in MIDDLEWARE_LAYERS:
                raise ValueError(f"middleware layer {spec.layer!r} is not one of "
                                 f"{', '.join(MIDDLEWARE_LAYERS)}")
            c.middleware.append(spec)
            self.middleware.append((record.name, spec))

    def _events(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        if isinstance(value, Mapping):
            handlers = [EventHandler(k, v) for k, v in value.items()]
        else:
            handlers = [value]
        for h in handlers:
            if not isinstance(h, EventHandler):
                raise TypeError(f"expected EventHandler or {{event: handler}}, got "
                                f"{type(h).__name__}")
            self.host.services.events.add(record.name, h.event, h.handler, h.phase)
            c.events.append(h)

    def _policies(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        if isinstance(value, Mapping):
            policies = [SecurityPolicy(k, v) for k, v in value.items()]
        else:
            policies = [value]
        for p in policies:
            if not isinstance(p, SecurityPolicy):
                raise TypeError(f"expected SecurityPolicy, got {type(p).__name__}")
            self.host.services.security.add_policy(record.name, p.name, p.check)
            c.policies.append(p.name)

    def _health(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        if isinstance(value, Mapping):
            checks = [HealthCheck(k, v) for k, v in value.items()]
        else:
            checks = [value]
        for h in checks:
            if not isinstance(h, HealthCheck):
                raise TypeError(f"expected HealthCheck, got {type(h).__name__}")
            if h.kind not in ("readiness", "liveness"):
                raise ValueError(f"health check kind {h.kind!r} is not readiness/liveness")
            c.health_checks.append(h)

    def _backups(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        if isinstance(value, Mapping):  # the guide's {"backup": fn, "restore": fn}
            value = BackupHandler(record.name, value["backup"], value.get("restore"))
        if not isinstance(value, BackupHandler):
            raise TypeError(f"expected BackupHandler, got {type(value).__name__}")
        c.backup_handlers.append(value)

    def _logging(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        handlers = list(value.values()) if isinstance(value, Mapping) else [value]
        for h in handlers:
            if not isinstance(h, logging.Handler):
                raise TypeError(f"expected logging.Handler, got {type(h).__name__}")
            logging.getLogger("plexichat").addHandler(h)
            c.logging_handlers.append(h)

    def _analytics(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected {{event: callable}}, got {type(value).__name__}")
        for event, func in value.items():
            self.host.services.analytics.add_hook(record.name, event, func)
            c.analytics_hooks.append(event)

    def _tasks(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        task = value if isinstance(value, BackgroundTask) else (
            BackgroundTask(task_name(value), value) if callable(value) else None)
        if task is None:
            raise TypeError(f"expected BackgroundTask or a coroutine function, got "
                            f"{type(value).__name__}")
        self.host.tasks.start(record.name, task, {"context": record.context})
        c.tasks.append(task.name)

    def _slash_commands(self, record: PluginRecord, c: Contributions, value: Any) -> None:
        # a name another plugin registered first raises here: refused and reported
        self.host.services.chat.add_command(record.name, value)
        c.slash_commands.append(value.name)

    def _declared_tasks(self, record: PluginRecord, c: Contributions) -> None:
        """Run the manifest's ``background_tasks`` a module-style plugin names.

        A guide-style ``PluginInterface`` starts its own tasks in ``initialize`` (as the
        guide shows), so its declared names are documentation, not something to run.
        """
        from .interface import PluginInterface

        if isinstance(record.obj, PluginInterface):
            return
        manifest = record.candidate.manifest
        for name in manifest.background_tasks if manifest is not None else []:
            if name in c.tasks:
                continue
            func = getattr(record.obj, name, None)
            if func is None or not callable(func):
                record.warnings.append(f"background task {name!r} declared in plugin.json "
                                       "is not a function of the plugin")
                continue
            self.host.tasks.start(record.name, BackgroundTask(name, func),
                                  {"context": record.context})
            c.tasks.append(name)


# hooks whose mapping results are filed whole (the mapping *is* the contribution)
_MAPPING_HOOKS = {
    "register_services",
    "register_middleware",
    "register_event_handlers",
    "register_security_policies",
    "register_health_checks",
    "register_backup_handlers",
    "register_logging_handlers",
    "register_analytics_hooks",
}
