"""The plugin guide's ``PluginInterface`` class, as sugar over the hooks.

A subclass writes the guide's methods (``initialize``, ``get_routers``,
``get_event_hooks``, ``get_middleware`` …) and decorators (``@on_event``,
``@register_middleware``, ``@register_backup_handler``). The base class carries one
``@hookimpl`` per hook that calls those methods, so a guide-style plugin goes through
exactly the same hooks, dispatcher and isolation as a module of ``@hookimpl``
functions. The hook implementations use private method names (``specname``), so a
subclass may freely define ``shutdown`` or ``self_test`` as the guide does.

Every guide method may be a plain method or ``async def``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, model_validator

from .contributions import (
    AnalyticsHook,
    BackupHandler,
    EventHandler,
    HealthCheck,
    MiddlewareSpec,
    SecurityPolicy,
    SelfTestResult,
)
from .manifest import ManifestFields, PluginType
from .markers import hookimpl
from .permissions import guide_service_permissions

if TYPE_CHECKING:
    from .context import PluginContext

__all__ = ["PluginInterface", "PluginMetadata", "PluginStartupError"]

_EVENT_ATTR = "_plexichat_events"
_MIDDLEWARE_ATTR = "_plexichat_middleware_layers"
_BACKUP_ATTR = "_plexichat_backup_role"

# guide service name -> the permission requesting it implies (from the permission table)
SERVICE_PERMISSIONS: dict[str, str | None] = guide_service_permissions()


class PluginStartupError(Exception):
    """``initialize()`` reported failure (returned False)."""


class PluginMetadata(ManifestFields):
    """The guide's ``PluginMetadata``: what ``get_metadata()`` returns.

    It has the fields of ``plugin.json`` (:class:`~plexichat.manifest.ManifestFields`,
    shared with :class:`~plexichat.manifest.PluginManifest`) without the host's checks;
    the manifest remains what the host reads before importing. As in the guide, the
    type is given and read as ``plugin_type`` (``type`` works too), and unknown keywords
    are kept.
    """

    model_config = ConfigDict(extra="allow", use_enum_values=False)

    @model_validator(mode="before")
    @classmethod
    def _guide_type_keyword(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "plugin_type" in data:
            data = dict(data)
            data.setdefault("type", data.pop("plugin_type"))
        return data

    @property
    def plugin_type(self) -> PluginType:
        """The plugin type (the manifest's ``type``), under the guide's name."""
        return self.type


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


class _Manager:
    """What ``self.manager`` is for a guide-style plugin: it exposes ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app


class PluginInterface:
    """Base class for guide-style plugins (also exported as ``plexichat.Plugin``)."""

    def __init__(self, name: str | None = None, version: str | None = None) -> None:
        self.name = name or type(self).__name__
        self.version = version or "0"
        self.plugin_type = PluginType.FEATURE
        self.logger = logging.getLogger(f"plexichat.plugins.{self.name}")
        self.context: PluginContext | None = None
        self.manager: _Manager | None = None

    # --- decorators (used in the class body) ---------------------------------------

    @staticmethod
    def on_event(event: str, phase: str = "post") -> Callable[[Callable[..., Any]],
                                                              Callable[..., Any]]:
        """Mark a method as a handler of the named event."""

        def mark(func: Callable[..., Any]) -> Callable[..., Any]:
            events = list(getattr(func, _EVENT_ATTR, []))
            events.append((event, phase))
            setattr(func, _EVENT_ATTR, events)
            return func

        return mark

    @staticmethod
    def register_middleware(layer: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Mark a method as middleware of ``layer`` (``web``, ``api`` or ``cli``)."""

        def mark(func: Callable[..., Any]) -> Callable[..., Any]:
            layers = list(getattr(func, _MIDDLEWARE_ATTR, []))
            layers.append(layer)
            setattr(func, _MIDDLEWARE_ATTR, layers)
            return func

        return mark

    @staticmethod
    def register_backup_handler(role: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Mark a method as the ``backup`` or ``restore`` handler."""
        if role not in ("backup", "restore"):
            raise ValueError(f"register_backup_handler takes 'backup' or 'restore', not {role!r}")

        def mark(func: Callable[..., Any]) -> Callable[..., Any]:
            setattr(func, _BACKUP_ATTR, role)
            return func

        return mark

    # --- the guide's methods, all optional -----------------------------------------

    def get_metadata(self) -> PluginMetadata | None:
        """The plugin's metadata; the host reads ``plugin.json`` first."""
        return None

    async def initialize(self) -> bool:
        """Start the plugin. The default awaits ``_plugin_initialize`` when defined."""
        init = getattr(self, "_plugin_initialize", None)
        if init is None:
            return True
        result = await _maybe_await(init())
        return result is not False

    async def shutdown(self) -> bool:
        """Stop the plugin. The default calls ``cleanup`` when defined."""
        cleanup = getattr(self, "cleanup", None)
        if cleanup is not None:
            await _maybe_await(cleanup())
        return True

    def set_context(self, context: PluginContext) -> None:
        """Receive the plugin context (``self.context``)."""
        self.context = context

    def get_services(self) -> dict[str, bool]:
        """Services to inject as attributes (``{"logger": True, "ai": True}``)."""
        return {}

    def get_routers(self) -> Mapping[str, Any]:
        """``{prefix: APIRouter}`` to serve."""
        return {}

    def get_db_extensions(self) -> Mapping[str, Any]:
        """``{name: Table | model | DAO}``; SQLAlchemy tables are created."""
        return {}

    def get_security_features(self) -> Mapping[str, Any]:
        """``{name: middleware or policy}``."""
        return {}

    def get_event_hooks(self) -> Mapping[str, Callable[..., Any]]:
        """``{event: handler}``."""
        return {}

    def get_config_schema(self) -> Mapping[str, Any] | None:
        """JSON Schema of the plugin's settings."""
        return None

    def get_health_checks(self) -> Mapping[str, Callable[..., Any]]:
        """``{name: check}``; ``health_check`` is included when overridden."""
        return {}

    def get_backup_handlers(self) -> Mapping[str, Callable[..., Any]]:
        """``{"backup": fn, "restore": fn}``."""
        return {}

    def get_middleware(self) -> Mapping[str, list[Callable[..., Any]]]:
        """``{"web": [fn], "api": [fn]}``."""
        return {}

    def register_logging_handlers(self) -> Mapping[str, logging.Handler]:
        """``{name: logging.Handler}``."""
        return {}

    def register_analytics_hooks(self) -> Mapping[str, Callable[..., Any]]:
        """``{event: fn(event, properties)}``."""
        return {}

    async def health_check(self) -> dict[str, Any]:
        """The plugin's overall health (``{"healthy": bool, ...}``)."""
        return {"healthy": True}

    async def self_test(self) -> dict[str, Any]:
        """The plugin's self-test (``{"passed": bool, "tests": [...], "message": ...}``)."""
        return {"passed": True, "tests": [], "message": "no self-test defined"}

    # --- hook implementations (private names; see module docstring) ---------------

    def _marked(self, attr: str) -> list[tuple[Callable[..., Any], Any]]:
        found = []
        for klass in type(self).__mro__:
            for key, value in vars(klass).items():
                marks = getattr(value, attr, None)
                if marks is not None and callable(value):
                    bound = getattr(self, key)
                    if (bound, marks) not in found:
                        found.append((bound, marks))
        return found

    @hookimpl(specname="startup")
    async def _hook_startup(self, context: PluginContext) -> None:
        self.set_context(context)
        self.logger = context.logger
        self.manager = _Manager(context.app)
        for service, wanted in (self.get_services() or {}).items():
            if wanted:
                setattr(self, service, context.service(service))
        if getattr(self, "data_dir", None) is None:
            self.data_dir = context.data_dir
        ok = await _maybe_await(self.initialize())
        if ok is False:
            raise PluginStartupError(f"{type(self).__name__}.initialize() returned False")

    @hookimpl(specname="shutdown")
    async def _hook_shutdown(self) -> None:
        await _maybe_await(self.shutdown())

    @hookimpl(specname="register_routers")
    def _hook_register_routers(self) -> dict[str, Any]:
        return dict(self.get_routers() or {})

    @hookimpl(specname="register_db_models")
    def _hook_register_db_models(self) -> list[Any]:
        return list((self.get_db_extensions() or {}).values())

    @hookimpl(specname="register_security_policies")
    def _hook_register_security_policies(self) -> list[SecurityPolicy]:
        return [SecurityPolicy(name, check) for name, check in
                (self.get_security_features() or {}).items()]

    @hookimpl(specname="register_event_handlers")
    def _hook_register_event_handlers(self) -> list[EventHandler]:
        handlers = [EventHandler(event, fn) for event, fn in (self.get_event_hooks() or {}).items()]
        for fn, marks in self._marked(_EVENT_ATTR):
            for event, phase in marks:
                handler = EventHandler(event, fn, phase)
                if handler not in handlers:
                    handlers.append(handler)
        return handlers

    @hookimpl(specname="config_schema")
    def _hook_config_schema(self) -> Mapping[str, Any] | None:
        return self.get_config_schema()

    @hookimpl(specname="config_changed")
    def _hook_config_changed(self, old: dict[str, Any], new: dict[str, Any]) -> Any:
        handler = getattr(self, "on_config_changed", None)
        if handler is not None:
            return handler(old, new)
        return None

    @hookimpl(specname="register_health_checks")
    def _hook_register_health_checks(self) -> list[HealthCheck]:
        checks = [HealthCheck(name, fn) for name, fn in (self.get_health_checks() or {}).items()]
        if type(self).health_check is not PluginInterface.health_check:
            checks.append(HealthCheck("health_check", self.health_check))
        return checks

    @hookimpl(specname="register_backup_handlers")
    def _hook_register_backup_handlers(self) -> list[BackupHandler]:
        roles: dict[str, Callable[..., Any]] = dict(self.get_backup_handlers() or {})
        for fn, role in self._marked(_BACKUP_ATTR):
            roles.setdefault(role, fn)
        if "backup" not in roles:
            return []
        return [BackupHandler(self.name, roles["backup"], roles.get("restore"))]

    @hookimpl(specname="register_middleware")
    def _hook_register_middleware(self) -> list[MiddlewareSpec]:
        specs = [MiddlewareSpec(layer, fn) for layer, fns in (self.get_middleware() or {}).items()
                 for fn in fns]
        for fn, layers in self._marked(_MIDDLEWARE_ATTR):
            for layer in layers:
                spec = MiddlewareSpec(layer, fn)
                if spec not in specs:
                    specs.append(spec)
        return specs

    @hookimpl(specname="register_logging_handlers")
    def _hook_register_logging_handlers(self) -> dict[str, logging.Handler]:
        return dict(self.register_logging_handlers() or {})

    @hookimpl(specname="register_analytics_hooks")
    def _hook_register_analytics_hooks(self) -> list[AnalyticsHook]:
        return [AnalyticsHook(event, func) for event, func in
                (self.register_analytics_hooks() or {}).items()]

    @hookimpl(specname="self_test")
    async def _hook_self_test(self) -> SelfTestResult | Mapping[str, Any] | bool:
        # the guide's dict is converted by the host (plexichat.adapters.self_test)
        result: SelfTestResult | Mapping[str, Any] | bool = await _maybe_await(self.self_test())
        return result


def plugin_package_dir(plugin: Any) -> Path | None:
    """The directory of the package a plugin object was defined in."""
    module = inspect.getmodule(plugin if inspect.isclass(plugin) else type(plugin))
    file = getattr(module, "__file__", None)
    return Path(file).parent if file else None
